//! IEEE LOM records (IEEE 1484.12.1 data model, 1484.12.3 XML binding, namespace
//! `http://ltsc.ieee.org/xsd/LOM`) for the platform export's courses.
//!
//! Element paths written (docs/platform-export.md lists them, the tests check them):
//! `lom/general/identifier/{catalog,entry}`, `lom/general/title/string[@language=zh]`,
//! `lom/general/language` (zh), `lom/general/description/string`,
//! `lom/lifeCycle/contribute/{role/{source,value},entity,date/dateTime}` (the unit, as a
//! vCard, role `author`), `lom/technical/format` (one per file's media type),
//! `lom/educational/typicalLearningTime/duration` (the video length as an ISO 8601
//! duration), `lom/educational/language`, `lom/rights/{cost,copyrightAndOtherRestrictions}`
//! (LOMv1.0 vocabulary) and `lom/rights/description/string` (the sharing consent as the
//! form answered it).

use quick_xml::escape::escape;

/// What a record says.
pub struct Record<'a> {
    pub identifier: &'a str,
    pub catalog: &'a str,
    pub title: &'a str,
    pub description: String,
    pub unit: &'a str,
    pub date: &'a str,
    pub formats: Vec<&'a str>,
    /// The video's length in minutes.
    pub minutes: Option<f64>,
    /// The consent field's label, its answer, and whether the answer is yes.
    pub consent: Option<(String, String, bool)>,
}

/// The record as XML.
pub fn write(r: &Record) -> String {
    let lang = "zh";
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\">\n");
    x.push_str("  <general>\n");
    x.push_str(&format!(
        "    <identifier><catalog>{}</catalog><entry>{}</entry></identifier>\n",
        escape(r.catalog),
        escape(r.identifier)
    ));
    x.push_str(&format!(
        "    <title><string language=\"{lang}\">{}</string></title>\n",
        escape(r.title)
    ));
    x.push_str(&format!("    <language>{lang}</language>\n"));
    x.push_str(&format!(
        "    <description><string language=\"{lang}\">{}</string></description>\n",
        escape(&r.description)
    ));
    x.push_str("  </general>\n");
    x.push_str("  <lifeCycle>\n    <contribute>\n");
    x.push_str("      <role><source>LOMv1.0</source><value>author</value></role>\n");
    x.push_str(&format!(
        "      <entity>{}</entity>\n",
        escape(vcard(r.unit))
    ));
    x.push_str(&format!(
        "      <date><dateTime>{}</dateTime></date>\n",
        escape(r.date)
    ));
    x.push_str("    </contribute>\n  </lifeCycle>\n");
    x.push_str("  <technical>\n");
    let mut formats = r.formats.clone();
    formats.dedup();
    for f in formats {
        x.push_str(&format!("    <format>{}</format>\n", escape(f)));
    }
    x.push_str("  </technical>\n");
    x.push_str("  <educational>\n");
    if let Some(d) = r.minutes.and_then(iso_duration) {
        x.push_str(&format!(
            "    <typicalLearningTime><duration>{d}</duration></typicalLearningTime>\n"
        ));
    }
    x.push_str(&format!("    <language>{lang}</language>\n"));
    x.push_str("  </educational>\n");
    x.push_str("  <rights>\n");
    x.push_str("    <cost><source>LOMv1.0</source><value>no</value></cost>\n");
    x.push_str(
        "    <copyrightAndOtherRestrictions><source>LOMv1.0</source><value>yes</value></copyrightAndOtherRestrictions>\n",
    );
    if let Some((label, answer, _)) = &r.consent {
        x.push_str(&format!(
            "    <description><string language=\"{lang}\">{}：{}</string></description>\n",
            escape(label),
            escape(answer)
        ));
    }
    x.push_str("  </rights>\n");
    x.push_str("</lom>\n");
    x
}

/// A vCard 3.0 naming the unit (LOM's `entity` holds a vCard).
fn vcard(unit: &str) -> String {
    let esc = unit
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(';', "\\;")
        .replace('\n', " ");
    format!("BEGIN:VCARD\nVERSION:3.0\nFN:{esc}\nORG:{esc}\nEND:VCARD")
}

/// Minutes as an ISO 8601 duration: 45 → PT45M, 150 → PT2H30M, 1.5 → PT1M30S.
pub fn iso_duration(minutes: f64) -> Option<String> {
    if !minutes.is_finite() || minutes <= 0.0 {
        return None;
    }
    let total = (minutes * 60.0).round() as u64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    let mut d = String::from("PT");
    if h > 0 {
        d.push_str(&format!("{h}H"));
    }
    if m > 0 {
        d.push_str(&format!("{m}M"));
    }
    if s > 0 || (h == 0 && m == 0) {
        d.push_str(&format!("{s}S"));
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(iso_duration(45.0).unwrap(), "PT45M");
        assert_eq!(iso_duration(150.0).unwrap(), "PT2H30M");
        assert_eq!(iso_duration(1.5).unwrap(), "PT1M30S");
        assert_eq!(iso_duration(0.0), None);
    }

    #[test]
    fn text_is_escaped() {
        let x = write(&Record {
            identifier: "R-1",
            catalog: "C",
            title: "<b>&课程</b>",
            description: String::new(),
            unit: "甲;乙",
            date: "2022-01-01",
            formats: vec!["video/mp4"],
            minutes: Some(45.0),
            consent: None,
        });
        assert!(x.contains("&lt;b&gt;&amp;课程&lt;/b&gt;"), "{x}");
        assert!(x.contains("ORG:甲\\;乙"), "{x}");
    }
}
