//! A form posted as multipart/form-data: its CSRF token and its files, read whole. A body
//! over the route's limit (or broken) is [`WebError::TooLarge`], answered only after the
//! account and the token have been checked like any other POST.

use axum::extract::Multipart;

use super::WebError;

/// What an upload form carried.
#[derive(Default)]
pub(super) struct Upload {
    pub csrf: String,
    /// Each `file` field: its file name as sent (empty when none) and its bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// The body could not be read whole (over the limit, or cut off).
    pub problem: Option<WebError>,
}

impl Upload {
    pub async fn read(mut multipart: Multipart) -> Upload {
        let mut up = Upload::default();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(_) => {
                    up.problem = Some(WebError::TooLarge);
                    break;
                }
            };
            let name = field.name().unwrap_or("").to_string();
            let filename = field.file_name().unwrap_or("").to_string();
            match field.bytes().await {
                Ok(bytes) if name == "csrf" => {
                    up.csrf = String::from_utf8_lossy(&bytes).to_string();
                }
                Ok(bytes) if name == "file" => up.files.push((filename, bytes.to_vec())),
                Ok(_) => {}
                Err(_) => {
                    up.problem = Some(WebError::TooLarge);
                    break;
                }
            }
        }
        up
    }
}
