//! The .docx reader: streams the main document part with quick-xml and builds a [`Grid`]
//! (top-level tables → rows → cells with gridSpan/vMerge; nested tables flattened into their
//! cell; paragraphs outside tables kept apart). Tick glyphs of every kind (`w:sym` symbol-font
//! glyphs, private-use characters, checkbox content controls, legacy checkbox fields) are
//! written into the text as ☑ / ☐. A content control still showing its placeholder
//! (`w:showingPlcHdr`: Word's "单击此处输入文字。" until someone types) contributes no text.
//! Deleted and moved-away text of tracked changes and the VML fallback of text boxes are
//! skipped, so each piece of text counts once; fields contribute their displayed result.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::grid::{Cell, Grid, Row};
use super::ooxml::{MainPart, Package};
use super::spec::FormsSpec;
use super::{ReadError, ReadLimits};

pub const TICKED: char = '☑';
pub const EMPTY: char = '☐';

/// Reads the package and returns its grid.
pub fn read_grid(bytes: &[u8], spec: &FormsSpec, limits: &ReadLimits) -> Result<Grid, ReadError> {
    let mut pkg = Package::open(bytes, limits)?;
    let part = match pkg.main_part()? {
        MainPart::Word(p) => p,
        MainPart::WordMacro => return Err(ReadError::Macro),
        MainPart::ExcelMacro | MainPart::Excel(_) => {
            return Err(ReadError::Corrupt(
                "a spreadsheet, not a Word document".into(),
            ))
        }
        MainPart::Other => return Err(ReadError::Corrupt("no Word main part".into())),
    };
    let part = if part.is_empty() {
        "word/document.xml".to_string()
    } else {
        part
    };
    let Some(xml) = pkg.read(&part)? else {
        return Err(ReadError::Corrupt(format!("{part} is missing")));
    };
    parse_document(&xml, spec, limits)
}

/// Parses WordprocessingML bytes into a grid.
pub fn parse_document(
    xml: &[u8],
    spec: &FormsSpec,
    limits: &ReadLimits,
) -> Result<Grid, ReadError> {
    let mut st = State::new(spec, limits);
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| ReadError::Corrupt(format!("document XML: {e}")))?;
        match ev {
            Event::Start(e) => st.start(&e, false)?,
            Event::Empty(e) => {
                st.start(&e, true)?;
                st.end(e.local_name().as_ref(), true);
            }
            Event::End(e) => st.end(e.local_name().as_ref(), false),
            Event::Text(t) if st.collecting() => st.push_text(&t.xml10_content()),
            Event::CData(t) if st.collecting() => {
                let s = t.as_ref().to_string();
                st.push_text(&s);
            }
            Event::GeneralRef(r) if st.collecting() => {
                if let Some(c) = resolve_ref(&r) {
                    let mut b = [0u8; 4];
                    st.push_text(c.encode_utf8(&mut b));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if st.depth != 0 {
        return Err(ReadError::Corrupt("document XML ends early".into()));
    }
    if !st.saw_body {
        return Err(ReadError::Corrupt("no w:body in the document".into()));
    }
    Ok(st.finish())
}

fn resolve_ref(r: &quick_xml::events::BytesRef<'_>) -> Option<char> {
    if r.is_char_ref() {
        return r.resolve_char_ref().ok().flatten();
    }
    match r.as_ref() {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

/// Value of the attribute with this local name (any prefix).
fn attr_value(e: &BytesStart<'_>, local: &str) -> Option<String> {
    let mut attrs = e.attributes();
    attrs.with_checks(false);
    for a in attrs.flatten() {
        if a.key.local_name().as_ref() == local {
            return Some(a.value.into_owned());
        }
    }
    None
}

fn is_on(v: Option<&str>) -> bool {
    matches!(v, None | Some("1" | "true" | "on"))
}

struct State<'s> {
    spec: &'s FormsSpec,
    limits: ReadLimits,
    depth: usize,
    saw_body: bool,
    /// Nesting of w:tbl.
    tbl: usize,
    in_t: bool,
    in_run: usize,
    /// Inside mc:Fallback (duplicate content) or deleted text: ignore.
    skip: usize,
    /// Inside the top-level cell's w:tcPr.
    in_tcpr: bool,
    para: String,
    para_open: usize,
    pending_mark: Option<char>,
    cell: Option<CellBuf>,
    row: Option<Vec<Cell>>,
    rows: Vec<Row>,
    tables: usize,
    paragraphs: Vec<String>,
    text: String,
    cells: usize,
    /// Per open w:sdt: its checkbox state when it is a checkbox content control.
    sdt: Vec<Option<bool>>,
    /// Per open w:sdt: it still shows its placeholder text (w:showingPlcHdr).
    placeholder: Vec<bool>,
    /// Per open w:sdtContent: whether it suppresses its content (checkbox or placeholder).
    suppressing: Vec<bool>,
    /// Inside the content of a checkbox control: its glyph is replaced by our mark.
    suppress: usize,
    /// Legacy form-field checkbox being read: (default, checked).
    legacy_box: Option<(bool, Option<bool>)>,
}

#[derive(Default)]
struct CellBuf {
    text: String,
    span: usize,
    vcont: bool,
    paras: usize,
}

impl<'s> State<'s> {
    fn new(spec: &'s FormsSpec, limits: &ReadLimits) -> Self {
        State {
            spec,
            limits: *limits,
            depth: 0,
            saw_body: false,
            tbl: 0,
            in_t: false,
            in_run: 0,
            skip: 0,
            in_tcpr: false,
            para: String::new(),
            para_open: 0,
            pending_mark: None,
            cell: None,
            row: None,
            rows: Vec::new(),
            tables: 0,
            paragraphs: Vec::new(),
            text: String::new(),
            cells: 0,
            sdt: Vec::new(),
            placeholder: Vec::new(),
            suppressing: Vec::new(),
            suppress: 0,
            legacy_box: None,
        }
    }

    fn collecting(&self) -> bool {
        self.in_t && self.skip == 0 && self.suppress == 0
    }

    fn push_text(&mut self, s: &str) {
        let t = &self.spec.ticks;
        // Tick glyphs in text are private-use characters; most text has none.
        let private_use = |c: char| ('\u{E000}'..='\u{F8FF}').contains(&c);
        if (t.pua_ticked.is_empty() && t.pua_empty.is_empty()) || !s.chars().any(private_use) {
            self.para.push_str(s);
            return;
        }
        for c in s.chars() {
            if t.pua_ticked.contains(c) {
                self.para.push(TICKED);
            } else if t.pua_empty.contains(c) {
                self.para.push(EMPTY);
            } else {
                self.para.push(c);
            }
        }
    }

    fn push_mark(&mut self, ticked: bool) {
        let m = if ticked { TICKED } else { EMPTY };
        if self.para_open > 0 {
            self.para.push(m);
        } else {
            self.pending_mark = Some(m);
        }
    }

    fn start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), ReadError> {
        if !empty {
            self.depth += 1;
            if self.depth > self.limits.xml_depth {
                return Err(ReadError::TooLarge(format!(
                    "XML nested deeper than {}",
                    self.limits.xml_depth
                )));
            }
        }
        let name = e.local_name();
        let name = name.as_ref();
        if self.skip > 0 {
            if !empty {
                self.skip += 1;
            }
            return Ok(());
        }
        match name {
            "body" => self.saw_body = true,
            "Fallback" | "del" | "moveFrom" if !empty => self.skip = 1,
            "tbl" => self.open_table(),
            "tr" if self.tbl == 1 => self.row = Some(Vec::new()),
            "tc" if self.tbl == 1 => self.open_cell()?,
            "tcPr" if self.tbl == 1 && !empty => self.in_tcpr = true,
            "gridSpan" if self.in_tcpr => {
                let span = attr_value(e, "val")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(1)
                    .clamp(1, 64);
                if let Some(c) = self.cell.as_mut() {
                    c.span = span;
                }
            }
            "vMerge" if self.in_tcpr => {
                let v = attr_value(e, "val");
                if let Some(c) = self.cell.as_mut() {
                    c.vcont = v.as_deref().is_none_or(|v| v == "continue");
                }
            }
            "p" => self.open_para(),
            "r" => self.in_run += 1,
            "t" if !empty => self.in_t = true,
            "tab" if self.in_run > 0 && self.emitting() => self.para.push(' '),
            "br" | "cr" if self.in_run > 0 && self.emitting() => self.para.push('\n'),
            "sym" if self.emitting() => self.sym(e),
            "sdt" => {
                self.sdt.push(None);
                self.placeholder.push(false);
            }
            "showingPlcHdr" => {
                if let Some(p) = self.placeholder.last_mut() {
                    *p = is_on(attr_value(e, "val").as_deref());
                }
            }
            "checkbox" => {
                if let Some(top) = self.sdt.last_mut() {
                    top.get_or_insert(false);
                }
            }
            "checked" => self.checked(e),
            "default" => {
                if let Some(b) = self.legacy_box.as_mut() {
                    b.0 = is_on(attr_value(e, "val").as_deref());
                }
            }
            "checkBox" => self.legacy_box = Some((false, None)),
            "sdtContent" if !empty => {
                let checkbox = self.sdt.last().copied().flatten();
                let placeholder = self.placeholder.last().copied().unwrap_or(false);
                if let Some(state) = checkbox {
                    self.push_mark(state);
                }
                let suppressing = checkbox.is_some() || placeholder;
                if suppressing {
                    self.suppress += 1;
                }
                self.suppressing.push(suppressing);
            }
            _ => {}
        }
        Ok(())
    }

    fn emitting(&self) -> bool {
        self.skip == 0 && self.suppress == 0
    }

    fn checked(&mut self, e: &BytesStart<'_>) {
        let on = is_on(attr_value(e, "val").as_deref());
        if let Some(b) = self.legacy_box.as_mut() {
            b.1 = Some(on);
        } else if let Some(Some(state)) = self.sdt.last_mut() {
            *state = on;
        }
    }

    fn sym(&mut self, e: &BytesStart<'_>) {
        let t = &self.spec.ticks;
        let font = attr_value(e, "font").unwrap_or_default();
        if !t.sym_fonts.is_empty() && !t.sym_fonts.iter().any(|f| f.eq_ignore_ascii_case(&font)) {
            return;
        }
        let code = attr_value(e, "char").unwrap_or_default();
        let Ok(mut n) = u32::from_str_radix(code.trim(), 16) else {
            return;
        };
        // Symbol fonts are addressed either as F0xx or as plain xx.
        if n < 0x100 {
            n += 0xF000;
        }
        let same = |c: &String| u32::from_str_radix(c, 16).ok() == Some(n);
        if t.sym_ticked.iter().any(same) {
            self.push_mark(true);
        } else if t.sym_empty.iter().any(same) {
            self.push_mark(false);
        }
    }

    fn open_table(&mut self) {
        self.tbl += 1;
        if self.tbl == 1 {
            self.tables += 1;
        }
    }

    fn open_cell(&mut self) -> Result<(), ReadError> {
        self.cells += 1;
        if self.cells > self.limits.cells {
            return Err(ReadError::TooLarge(format!(
                "more than {} table cells",
                self.limits.cells
            )));
        }
        self.cell = Some(CellBuf {
            span: 1,
            ..CellBuf::default()
        });
        Ok(())
    }

    fn open_para(&mut self) {
        if self.para_open > 0 {
            // A paragraph inside a paragraph (text box): keep it on its own line.
            self.para.push('\n');
        }
        self.para_open += 1;
        if let Some(m) = self.pending_mark.take() {
            self.para.push(m);
        }
    }

    fn end(&mut self, name: &str, empty: bool) {
        if !empty {
            self.depth = self.depth.saturating_sub(1);
        }
        if self.skip > 0 {
            if !empty {
                self.skip -= 1;
            }
            return;
        }
        match name {
            "t" => self.in_t = false,
            "r" => self.in_run = self.in_run.saturating_sub(1),
            "p" => self.close_para(),
            "tcPr" => self.in_tcpr = false,
            "tc" if self.tbl == 1 => self.close_cell(),
            "tr" if self.tbl == 1 => self.close_row(),
            "tbl" => self.tbl = self.tbl.saturating_sub(1),
            "sdtContent" if !empty && self.suppressing.pop() == Some(true) => {
                self.suppress = self.suppress.saturating_sub(1);
            }
            "sdt" => {
                self.sdt.pop();
                self.placeholder.pop();
            }
            "checkBox" => {
                if let Some((default, checked)) = self.legacy_box.take() {
                    self.push_mark(checked.unwrap_or(default));
                }
            }
            _ => {}
        }
    }

    fn close_para(&mut self) {
        if self.para_open == 0 {
            return;
        }
        self.para_open -= 1;
        if self.para_open > 0 {
            self.para.push('\n');
            return;
        }
        let p = std::mem::take(&mut self.para);
        self.text.push_str(&p);
        self.text.push('\n');
        match self.cell.as_mut() {
            Some(c) if self.tbl >= 1 => {
                if c.paras > 0 {
                    c.text.push('\n');
                }
                c.text.push_str(&p);
                c.paras += 1;
            }
            _ => self.paragraphs.push(p),
        }
    }

    fn close_cell(&mut self) {
        if let Some(c) = self.cell.take() {
            if let Some(row) = self.row.as_mut() {
                row.push(Cell::new(c.text, c.span, c.vcont));
            }
        }
    }

    fn close_row(&mut self) {
        if let Some(cells) = self.row.take() {
            let number = self.rows.len() + 1;
            self.rows.push(Row {
                number,
                table: self.tables.saturating_sub(1),
                cells,
            });
        }
    }

    fn finish(self) -> Grid {
        let mut text = self.text;
        while text.ends_with('\n') {
            text.pop();
        }
        Grid {
            rows: self.rows,
            paragraphs: self.paragraphs,
            text,
        }
    }
}
