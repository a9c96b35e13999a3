//! Review mail as the tests read and answer it: a header or the text of a mail, its
//! attachments, a score sheet filled the way an expert's spreadsheet program saves it, and
//! the reply that carries it back.

pub fn attachments(raw: &[u8]) -> Vec<(String, Vec<u8>)> {
    use mail_parser::MimeHeaders;
    let m = mail_parser::MessageParser::default().parse(raw).unwrap();
    m.attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .collect()
}

pub fn header(raw: &[u8], name: &str) -> String {
    let m = mail_parser::MessageParser::default().parse(raw).unwrap();
    match name {
        "from" => m
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_lowercase(),
        "to" => m
            .to()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.address())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        "subject" => m.subject().unwrap_or_default().to_string(),
        "text" => m.body_text(0).unwrap_or_default().to_string(),
        other => m
            .header_raw(other)
            .map(|v| v.trim().to_string())
            .unwrap_or_default(),
    }
}

/// What to write in a row of a sheet: (scores in column order, comment, recommendation).
pub type Filler = dyn Fn(&str, usize) -> Option<(Vec<f64>, String, String)>;

/// Fills a score sheet lndx sent the way an expert's spreadsheet program would save it:
/// every sheet read with calamine and written again with rust_xlsxwriter (the marker sheet
/// hidden again), with `fill(receipt) -> Option<(scores, comment, recommendation)>` in the
/// rows, plus `extra` rows appended to the first kind sheet.
pub fn fill_sheet(sent: &[u8], fill: &Filler, extra: &[&str]) -> Vec<u8> {
    use calamine::{Data, Reader};
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(sent.to_vec())).unwrap();
    let names = wb.sheet_names().to_vec();
    let mut out = rust_xlsxwriter::Workbook::new();
    let mut first_kind = true;
    for name in names {
        let range = wb.worksheet_range(&name).unwrap();
        let ws = out.add_worksheet();
        ws.set_name(&name).unwrap();
        let cols = range.width();
        let mut last_row = 0;
        for (r, row) in range.rows().enumerate() {
            last_row = r;
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Data::String(s) => {
                        ws.write(r as u32, c as u16, s.as_str()).unwrap();
                    }
                    Data::Float(f) => {
                        ws.write(r as u32, c as u16, *f).unwrap();
                    }
                    Data::Int(i) => {
                        ws.write(r as u32, c as u16, *i as f64).unwrap();
                    }
                    _ => {}
                }
            }
            if name != "lndx" && r > 0 {
                let receipt = match &row[0] {
                    Data::String(s) => s.clone(),
                    _ => continue,
                };
                if let Some((scores, comment, rec)) = fill(&receipt, cols) {
                    for (i, sc) in scores.iter().enumerate() {
                        ws.write(r as u32, 2 + i as u16, *sc).unwrap();
                    }
                    let n = scores.len() as u16;
                    ws.write(r as u32, 2 + n + 1, comment.as_str()).unwrap();
                    ws.write(r as u32, 2 + n + 2, rec.as_str()).unwrap();
                }
            }
        }
        if name == "lndx" {
            ws.set_hidden(true);
        } else if first_kind {
            first_kind = false;
            for (i, receipt) in extra.iter().enumerate() {
                let r = (last_row + 1 + i) as u32;
                ws.write(r, 0, *receipt).unwrap();
                for c in 2..(cols as u16 - 3) {
                    ws.write(r, c, 5.0).unwrap();
                }
                ws.write(r, cols as u16 - 2, "顺手评了").unwrap();
                ws.write(r, cols as u16 - 1, "推荐").unwrap();
            }
        }
    }
    out.save_to_buffer().unwrap()
}

/// A reply carrying a file, as an expert's mail program would send it.
pub fn sheet_reply(from: &str, to: &str, subject: &str, filename: &str, bytes: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let wrapped: Vec<String> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let name = format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(filename)
    );
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: =?UTF-8?B?{}?=\r\n\
         Date: Mon, 15 Nov 2021 10:00:00 +0800\r\nMessage-ID: <{}@experts.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n评分表已填好，请查收。\r\n\
         --b1\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        base64::engine::general_purpose::STANDARD.encode(subject),
        super::rand_u64(),
        wrapped.join("\r\n")
    )
    .into_bytes()
}
