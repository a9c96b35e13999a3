//! Download links instead of attachments: webmail services replace big attachments by a
//! link in the body (QQ Mail "从QQ邮箱发来的超大附件", 163/126 "网易邮箱超大附件", …), and
//! senders paste cloud-drive share links (百度网盘, 阿里云盘, 夸克网盘, 腾讯微云, 天翼云盘 …).
//! Such a message is reported as `link_attachment` instead of `no_attachment`.
//!
//! Owns: the phrase and host lists, and the test "a phrase together with an http(s) link,
//! or a link to a cloud drive".

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

/// Hosts of cloud drives whose share links stand in for attachments. Extend here.
pub const CLOUD_DRIVE_HOSTS: &[&str] = &[
    "pan.baidu.com",
    "yun.baidu.com",
    "aliyundrive.com",
    "alipan.com",
    "pan.quark.cn",
    "share.weiyun.com",
    "weiyun.com",
    "cloud.189.cn",
    "caiyun.139.com",
    "yun.139.com",
    "pan.xunlei.com",
    "lanzou",
    "123pan.com",
    "wwx.lanzoui.com",
    "jianguoyun.com",
    "wenshushu.cn",
    "feishu.cn/drive",
    "115.com",
    "115cdn.com",
];

/// True when any of `texts` (plain text or HTML) names a big attachment and some text links
/// to http(s), or when a text links to a cloud drive.
pub fn mentions_big_attachment(texts: &[&str]) -> bool {
    let phrase = texts
        .iter()
        .any(|t| BIG_ATTACHMENT_PHRASES.iter().any(|p| t.contains(p)));
    let lowered: Vec<String> = texts.iter().map(|t| t.to_ascii_lowercase()).collect();
    let link = lowered
        .iter()
        .any(|t| t.contains("http://") || t.contains("https://"));
    let drive = link
        && lowered
            .iter()
            .any(|t| CLOUD_DRIVE_HOSTS.iter().any(|h| t.contains(h)));
    (phrase && link) || drive
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webmail_phrases_and_cloud_drive_links() {
        assert!(mentions_big_attachment(&[
            "从QQ邮箱发来的超大附件 https://wx.mail.qq.com/ftn/download?x"
        ]));
        assert!(mentions_big_attachment(&[
            "申报材料见百度网盘：https://pan.baidu.com/s/1AbC 提取码：x7k2"
        ]));
        assert!(mentions_big_attachment(&[
            "<a href=\"https://www.alipan.com/s/abc\">阿里云盘</a>"
        ]));
        assert!(!mentions_big_attachment(&["详见 https://www.moe.gov.cn/"]));
        assert!(!mentions_big_attachment(&["超大附件已删除"]));
    }
}
