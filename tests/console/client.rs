//! A browser-like HTTP client for the console tests: its own session cookie, no redirects
//! followed, statuses returned rather than turned into errors, forms posted with our
//! Origin (or another, or none), a file uploaded as multipart, sign-in with a link.

#![allow(dead_code)]

use super::Console;

/// A browser-like client: its own cookie, no redirects followed, statuses not errors.
pub struct Client {
    pub agent: ureq::Agent,
    pub base: String,
    pub cookie: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a csrf token")
            + "name=\"csrf\" value=\"".len();
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

impl Client {
    pub fn new(c: &Console) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            agent,
            base: c.base(),
            cookie: None,
        }
    }

    pub fn take(&mut self, resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Page {
        let mut resp = resp.expect("request");
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        for (k, v) in &headers {
            if k == "set-cookie" {
                self.cookie = Some(v.split(';').next().unwrap().to_string());
            }
        }
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(50 * 1024 * 1024)
            .read_to_vec()
            .unwrap();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let mut req = self.agent.get(self.url(path));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let r = req.call();
        self.take(r)
    }

    /// A download's status and bytes, unaltered.
    pub fn download(&mut self, path: &str) -> (u16, Vec<u8>) {
        let mut req = self.agent.get(self.url(path));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let mut resp = req.call().expect("request");
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(50 * 1024 * 1024)
            .read_to_vec()
            .unwrap();
        (resp.status().as_u16(), bytes)
    }

    /// A form POST from `origin` (None: no Origin header at all).
    pub fn post_from(&mut self, path: &str, origin: Option<&str>, form: &[(&str, &str)]) -> Page {
        let mut req = self.agent.post(self.url(path));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let r = req.send_form(form.iter().copied());
        self.take(r)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let base = self.base.clone();
        self.post_from(path, Some(&base), form)
    }

    /// A multipart POST of one file with the form's CSRF token.
    pub fn upload(&mut self, path: &str, csrf: &str, filename: &str, bytes: &[u8]) -> Page {
        let (ctype, body) = multipart(csrf, filename, bytes);
        let mut req = self
            .agent
            .post(self.url(path))
            .header("Content-Type", &ctype)
            .header("Origin", &self.base);
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let r = req.send(&body[..]);
        self.take(r)
    }

    /// Signs in with a link: opens it, presses the button.
    pub fn sign_in(&mut self, link: &str) -> Page {
        let page = self.get(link);
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        self.post(link, &[("csrf", &csrf)])
    }

    pub fn signed_in(c: &Console, email: &str) -> Client {
        let mut client = Client::new(c);
        let p = client.sign_in(&c.new_link(email));
        assert_eq!(p.status, 303, "{email}: {}", p.body);
        client
    }
}

/// A multipart/form-data body with the CSRF token and one file.
pub fn multipart(csrf: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "lndx-test-boundary-7d3f";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The first sheet of an .xlsx download, every cell as text, row by row.
pub fn xlsx_rows(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("an .xlsx");
    let sheet = wb
        .worksheet_range_at(0)
        .expect("a first sheet")
        .expect("a readable first sheet");
    sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}
