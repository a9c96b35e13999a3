//! "超大附件" download links: webmail services replace big attachments by a link in the body
//! (QQ Mail "从QQ邮箱发来的超大附件", 163/126 "网易邮箱超大附件", …); such a message is reported
//! as `link_attachment` instead of `no_attachment`.
//!
//! Owns: the phrase list and the test "a phrase together with an http(s) link".

/// Phrases that mark a big-attachment download block. Extend here.
pub const BIG_ATTACHMENT_PHRASES: &[&str] = &[
    "超大附件",
    "从QQ邮箱发来的超大附件",
    "网易邮箱超大附件",
    "大附件下载",
    "云附件",
    "文件中转站",
    "附件已过期",
    "超大附件下载",
];

/// True when any of `texts` (plain text or HTML) names a big attachment and some text links
/// to http(s).
pub fn mentions_big_attachment(texts: &[&str]) -> bool {
    let phrase = texts
        .iter()
        .any(|t| BIG_ATTACHMENT_PHRASES.iter().any(|p| t.contains(p)));
    let link = texts.iter().any(|t| {
        let lower = t.to_ascii_lowercase();
        lower.contains("http://") || lower.contains("https://")
    });
    phrase && link
}
