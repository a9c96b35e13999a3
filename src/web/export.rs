//! The lists as .xlsx, filtered exactly as on the page (every row, not one page).

use axum::extract::{Query, State};
use axum::response::Response;
use rust_xlsxwriter::{Format, Workbook};

use super::pages::{
    download, entry_view, mail_view, message_view, EntryParams, MessageParams, OutboxParams,
};
use super::{run, Inner, Meta, WebError};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One sheet with a bold header row, frozen, with a filter; every cell as text.
pub(super) fn workbook(
    sheet: &str,
    head: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<Vec<u8>, WebError> {
    let fail = |e: rust_xlsxwriter::XlsxError| WebError::BadRequest(format!("导出失败：{e}"));
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet).map_err(fail)?;
    let bold = Format::new().set_bold();
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(fail)?;
        ws.set_column_width(c as u16, 16).map_err(fail)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, v).map_err(fail)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(fail)?;
    if !head.is_empty() {
        ws.autofilter(0, 0, rows.len() as u32, head.len() as u16 - 1)
            .map_err(fail)?;
    }
    wb.save_to_buffer().map_err(fail)
}

fn stamp(s: &Inner) -> String {
    chrono::Utc::now()
        .with_timezone(&s.console.campaign().tz)
        .format("%Y%m%d-%H%M")
        .to_string()
}

pub(super) async fn entries(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<EntryParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.list_scope()?;
        let (rows, _) = reg.console_entries(&p.query(&scope, None))?;
        let head = [
            "回执编号",
            "名称",
            "申报单位",
            "省份",
            "批次",
            "类别",
            "状态",
            "逾期",
            "版本",
            "来信时间",
            "主题",
            "问题数",
        ];
        let rows = rows
            .iter()
            .map(|e| {
                let v = entry_view(s, e);
                vec![
                    v.receipt,
                    v.name,
                    v.unit,
                    v.province,
                    v.batch,
                    v.kind,
                    v.status,
                    if v.late { "是" } else { "" }.into(),
                    v.version.to_string(),
                    v.arrived,
                    v.themes.join("、"),
                    v.errors.to_string(),
                ]
            })
            .collect();
        let bytes = workbook("申报登记", &head, rows)?;
        Ok(download(
            bytes,
            XLSX,
            &format!("申报登记-{}.xlsx", stamp(s)),
        ))
    })
    .await
}

pub(super) async fn messages(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<MessageParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.list_scope()?;
        let (rows, _) = reg.console_messages(&p.query(&scope, None))?;
        let head = [
            "编号",
            "来信时间",
            "发件人",
            "主题",
            "省份",
            "批次",
            "处理状态",
            "未答复原因",
            "申报数",
        ];
        let rows = rows
            .iter()
            .map(|m| {
                let v = message_view(s, m);
                vec![
                    v.id.to_string(),
                    v.arrived,
                    v.sender,
                    v.subject,
                    v.province,
                    v.batch,
                    v.state,
                    v.skipped,
                    v.entries.to_string(),
                ]
            })
            .collect();
        let bytes = workbook("来信", &head, rows)?;
        Ok(download(bytes, XLSX, &format!("来信-{}.xlsx", stamp(s))))
    })
    .await
}

pub(super) async fn outbox(
    State(s): State<super::State>,
    meta: Meta,
    Query(p): Query<OutboxParams>,
) -> Response {
    run(s, meta, move |s, reg, ctx| {
        let scope = ctx.list_scope()?;
        let (rows, _) = reg.console_outbox(&p.query(&scope, None))?;
        let head = [
            "编号",
            "类型",
            "收件人",
            "来信主题",
            "状态",
            "尝试次数",
            "错误",
            "创建时间",
            "发送时间",
        ];
        let rows = rows
            .iter()
            .map(|o| {
                let v = mail_view(s, o);
                vec![
                    v.id.to_string(),
                    v.purpose,
                    v.recipients,
                    v.subject,
                    v.state,
                    v.attempts.to_string(),
                    v.error,
                    v.created,
                    v.sent,
                ]
            })
            .collect();
        let bytes = workbook("发信", &head, rows)?;
        Ok(download(bytes, XLSX, &format!("发信-{}.xlsx", stamp(s))))
    })
    .await
}

pub(super) async fn users(State(s): State<super::State>, meta: Meta) -> Response {
    run(s, meta, move |s, reg, ctx| {
        ctx.require_admin()?;
        let head = [
            "邮箱",
            "角色",
            "省份",
            "单位",
            "姓名",
            "已设密码",
            "已停用",
            "创建时间",
        ];
        let rows = super::auth::user_views(s, reg.users()?)
            .into_iter()
            .map(|u| {
                vec![
                    u.email,
                    u.role_label,
                    u.province,
                    u.unit,
                    u.name,
                    if u.password { "是" } else { "" }.into(),
                    if u.disabled { "是" } else { "" }.into(),
                    u.created_at,
                ]
            })
            .collect();
        let bytes = workbook("账号", &head, rows)?;
        Ok(download(bytes, XLSX, &format!("账号-{}.xlsx", stamp(s))))
    })
    .await
}
