//! 汇编: the book (汇编成册, PDF and .docx) and the platform package of a batch, built on
//! request by the same library calls as `lndx book` and `lndx export platform`, and sent
//! as downloads. Reading them changes nothing, so the ministry's viewer accounts may too;
//! province and expert accounts may not (the book holds every province's entries).

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::pages::{download, require_all};
use super::{render, run, Meta, WebError};
use crate::book::Selection;

/// The form's choices (a GET form: building a book changes nothing).
#[derive(Debug, Deserialize)]
pub(super) struct BookParams {
    batch: u8,
    /// `recommended` (the published review decisions) or `all` (every current valid entry).
    #[serde(default)]
    selection: String,
    /// `pdf`, `docx` or `zip` (the platform package, without contact details).
    #[serde(default)]
    format: String,
}

/// The 汇编 page: a batch, which entries, which file.
pub(super) async fn page(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, move |s, _reg, ctx| {
        require_all(ctx)?;
        let batches: Vec<minijinja::Value> = s
            .console
            .campaign()
            .batches
            .iter()
            .map(|b| context! { number => b.number, name => b.name.clone() })
            .collect();
        render::html(s, ctx, "book.html", context! { batches })
    })
    .await
}

/// Builds the chosen file and sends it as a download; a refusal (no published decisions,
/// no entries, a font missing) is shown in Chinese with its code.
pub(super) async fn download_file(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<BookParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        require_all(ctx)?;
        let campaign = s.console.campaign();
        let selection = match p.selection.as_str() {
            "all" => Selection::AllValid,
            "recommended" | "" => crate::book::recommended(reg, p.batch)
                .map(Selection::Receipts)
                .map_err(|e| refusal(e.code(), &e.to_string()))?,
            other => return Err(WebError::BadRequest(format!("未知的选择：{other}"))),
        };
        let setup = &s.console.book;
        match p.format.as_str() {
            "pdf" | "docx" | "" => {
                let files = setup
                    .build(reg, campaign, p.batch, &selection)
                    .map_err(|e| refusal(e.code(), &e.to_string()))?;
                Ok(if p.format == "docx" {
                    download(
                        files.docx,
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        &format!("{}.docx", files.stem),
                    )
                } else {
                    download(files.pdf, "application/pdf", &format!("{}.pdf", files.stem))
                })
            }
            "zip" => {
                let parse = s.console.intake.parse_options();
                let package = crate::platform::export_with(
                    setup, reg, campaign, &parse, p.batch, &selection, false,
                )
                .map_err(|e| refusal(e.code(), &e.to_string()))?;
                Ok(download(
                    package.zip,
                    "application/zip",
                    &format!("platform-batch{}.zip", p.batch),
                ))
            }
            other => Err(WebError::BadRequest(format!("未知的文件类型：{other}"))),
        }
    })
    .await
}

fn refusal(code: &str, message: &str) -> WebError {
    WebError::BadRequest(format!("{message}（{code}）"))
}
