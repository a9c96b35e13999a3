//! What a message without a form gets: only supporting files (a scan) is `no_attachment`,
//! a cloud-drive share link is `link_attachment`; both keep what was attached.

mod util;

use base64::Engine;
use util::Scratch;

fn message(body: &str, attachment: Option<(&str, &str, &[u8])>) -> Vec<u8> {
    let mut m = String::from(
        "From: 张老师 <teacher@gd.test>\r\nTo: lndx@ouchn.test\r\nSubject: 广东省申报材料\r\n\
         Message-ID: <edge-1@gd.test>\r\nDate: Tue, 26 Oct 2021 10:00:00 +0800\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    m.push_str(body);
    m.push_str("\r\n");
    if let Some((name, ctype, bytes)) = attachment {
        m.push_str(&format!(
            "--b\r\nContent-Type: {ctype}; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ));
    }
    m.push_str("--b--\r\n");
    m.into_bytes()
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_scan_alone_is_no_attachment_and_a_cloud_drive_link_is_a_link() {
    let s = Scratch::new("attachments");
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let scan_only = s.dir.join("scan.eml");
    std::fs::write(
        &scan_only,
        message(
            "请查收盖章扫描件。",
            Some(("scan.pdf", "application/pdf", pdf)),
        ),
    )
    .unwrap();
    let drive = s.dir.join("drive.eml");
    std::fs::write(
        &drive,
        message(
            "申报表太大，已上传百度网盘：https://pan.baidu.com/s/1AbCdEf 提取码：x7k2",
            None,
        ),
    )
    .unwrap();
    let results = s.ingest(None, &[scan_only, drive]);
    let scan = &results[0];
    assert!(codes(scan).contains(&"no_attachment".to_string()), "{scan}");
    assert_eq!(
        scan["attachments"][0]["role"], "supporting",
        "the scan is kept"
    );
    assert!(scan["reply"]["subject"].is_string());
    let link = &results[1];
    assert!(
        codes(link).contains(&"link_attachment".to_string()),
        "{link}"
    );
    assert!(
        !codes(link).contains(&"no_attachment".to_string()),
        "{link}"
    );
}
