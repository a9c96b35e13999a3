//! Progress against the targets and the calendar: per kind and in total, how much of the
//! campaign's time has passed (campaign.toml `opens` → `closes`, both days included), what
//! should have been reached by now at an even pace, the weekly pace still needed to reach
//! each target by the close, the valid entries per week against the target line, and the
//! next deadline.
//!
//! Bars are lists of [`Segment`]s that the templates draw as table cells (mail clients
//! draw neither SVG nor script; Outlook ignores most CSS): a size (percent of a width, or
//! pixels of a height) and a tone the template gives a colour.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use super::data::EntryLine;
use super::labels::Labels;
use crate::campaign::Campaign;
use crate::filing::EntryStatus;
use crate::forms::Kind;

/// Height of a week's column in the HTML chart, in pixels.
pub const CHART_HEIGHT: u32 = 96;
/// How many of the latest weeks the plain-text mail lists (the workbook has all).
pub const TEXT_WEEKS: usize = 8;

/// A piece of a bar: `size` percent (horizontal) or pixels (vertical), and its tone:
/// `done` (valid entries), `due` (what an even pace would have reached by now), `mark` (the
/// time or target line), `plan` (the target line in weeks still to come), `rest`, `none`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Segment {
    pub size: u32,
    pub tone: &'static str,
}

fn seg(size: u32, tone: &'static str) -> Option<Segment> {
    (size > 0).then_some(Segment { size, tone })
}

/// Where the campaign stands in its own time.
#[derive(Debug, Clone, Serialize)]
pub struct Calendar {
    pub opens: String,
    pub closes: String,
    pub days_total: i64,
    /// Whole days passed before the report's day.
    pub days_passed: i64,
    /// Days left, the report's day included.
    pub days_left: i64,
    pub weeks_left: i64,
    /// Share of the time passed, 0–1, and as text ("45.3%").
    pub share: f64,
    pub pct_text: String,
    pub closed: bool,
}

impl Calendar {
    pub fn of(c: &Campaign, l: &Labels, today: NaiveDate) -> Calendar {
        let (opens, closes) = (c.info.opens, c.info.closes);
        let days_total = (closes - opens).num_days() + 1;
        let days_passed = (today - opens).num_days().clamp(0, days_total);
        let days_left = days_total - days_passed;
        let share = days_passed as f64 / days_total as f64;
        let date = |d: NaiveDate| d.format(l.format("date")).to_string();
        Calendar {
            opens: date(opens),
            closes: date(closes),
            days_total,
            days_passed,
            days_left,
            weeks_left: (days_left + 6) / 7,
            share,
            pct_text: format!("{:.1}%", share * 100.0),
            closed: days_left == 0,
        }
    }

    /// What an even pace reaches by now.
    fn expected(&self, target: u32) -> u32 {
        (target as f64 * self.share).round() as u32
    }

    /// The weekly pace still needed to reach `target` from `valid` by the close; None once
    /// the campaign has closed.
    pub fn pace(&self, target: u32, valid: usize) -> Option<u32> {
        let remaining = (target as usize).saturating_sub(valid) as i64;
        (self.weeks_left > 0).then(|| ((remaining + self.weeks_left - 1) / self.weeks_left) as u32)
    }
}

/// One kind's progress (or the total's: `key` empty).
#[derive(Debug, Clone, Serialize)]
pub struct KindRow {
    pub key: String,
    pub name: String,
    pub short: String,
    pub target: u32,
    pub valid: usize,
    pub invalid: usize,
    pub pct: f64,
    pub pct_text: String,
    /// Bar width in percent (0–100) and the rest.
    pub bar: u32,
    pub rest: u32,
    /// The bar in 20 text cells, the time passed marked with │.
    pub bar_text: String,
    /// What an even pace reaches by now; how far below it (negative: ahead).
    pub expected: u32,
    pub behind: i64,
    /// Still to reach the target, and per week until the close (None once closed).
    pub remaining: u32,
    pub pace: Option<u32>,
    /// The pace as shown: the number, or a dash once the campaign has closed.
    pub pace_text: String,
    /// Valid entries against the time passed, as bar segments (percent).
    pub segments: Vec<Segment>,
}

/// Totals over every kind.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    #[serde(flatten)]
    pub row: KindRow,
    pub held: usize,
    pub late_valid: usize,
}

impl std::ops::Deref for Totals {
    type Target = KindRow;
    fn deref(&self) -> &KindRow {
        &self.row
    }
}

fn pct(n: usize, of: u32) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

/// Valid entries `done` percent against the time marker at `time` percent (both 0–100).
fn progress_segments(done: u32, time: u32) -> Vec<Segment> {
    let mark = time.min(99);
    [
        seg(done.min(mark), "done"),
        seg(mark.saturating_sub(done), "due"),
        seg(1, "mark"),
        seg(done.saturating_sub(mark + 1), "done"),
        seg(100 - done.max(mark + 1), "rest"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A 20-cell text bar: one cell per 5 %, the time passed marked with │.
fn bar_text(p: f64, time: f64) -> String {
    let full = (p / 5.0).round().clamp(0.0, 20.0) as usize;
    let mark = ((time * 20.0).round() as usize).min(19);
    (0..20)
        .map(|i| match i {
            _ if i == mark => '│',
            _ if i < full => '█',
            _ => '░',
        })
        .collect()
}

/// One row of the progress table.
fn row(
    cal: &Calendar,
    key: &str,
    names: (&str, &str),
    target: u32,
    valid: usize,
    invalid: usize,
) -> KindRow {
    let p = pct(valid, target);
    let bar = p.round().clamp(0.0, 100.0) as u32;
    let expected = cal.expected(target);
    KindRow {
        key: key.to_string(),
        name: names.0.to_string(),
        short: names.1.to_string(),
        target,
        valid,
        invalid,
        pct: p,
        pct_text: format!("{p:.1}%"),
        bar,
        rest: 100 - bar,
        bar_text: bar_text(p, cal.share),
        expected,
        behind: expected as i64 - valid as i64,
        remaining: target.saturating_sub(valid as u32),
        pace: cal.pace(target, valid),
        pace_text: cal
            .pace(target, valid)
            .map(|p| p.to_string())
            .unwrap_or_else(|| "—".to_string()),
        segments: progress_segments(bar, (cal.share * 100.0).round() as u32),
    }
}

fn count(entries: &[EntryLine], status: EntryStatus, kind: Option<Kind>) -> usize {
    entries
        .iter()
        .filter(|e| e.status == status && kind.is_none_or(|k| e.kind == k.key()))
        .count()
}

/// Progress per kind, in the campaign's order.
pub fn kind_rows(c: &Campaign, cal: &Calendar, entries: &[EntryLine]) -> Vec<KindRow> {
    c.kinds()
        .map(|k| {
            let info = c.kind_info(k);
            let valid = count(entries, EntryStatus::Valid, Some(k));
            let invalid = count(entries, EntryStatus::Invalid, Some(k));
            row(
                cal,
                k.key(),
                (&info.name, &info.short),
                info.target,
                valid,
                invalid,
            )
        })
        .collect()
}

/// Progress over every kind.
pub fn totals(cal: &Calendar, l: &Labels, kinds: &[KindRow], entries: &[EntryLine]) -> Totals {
    let target = kinds.iter().map(|k| k.target).sum();
    let valid = count(entries, EntryStatus::Valid, None);
    let invalid = count(entries, EntryStatus::Invalid, None);
    let total = l.label("total");
    Totals {
        row: row(cal, "", (total, total), target, valid, invalid),
        held: count(entries, EntryStatus::Held, None),
        late_valid: entries
            .iter()
            .filter(|e| e.status == EntryStatus::Valid && e.late)
            .count(),
    }
}

/// One week of the campaign: its valid entries against the target line.
#[derive(Debug, Clone, Serialize)]
pub struct Week {
    /// The week's first day ("10-01"), and as a date for the workbook.
    pub label: String,
    #[serde(skip)]
    pub start: NaiveDate,
    /// Valid entries that came in during the week, and all up to its end (None for weeks
    /// still to come).
    pub new_valid: usize,
    pub cumulative: Option<usize>,
    /// Where an even pace to the total target stands at the week's end.
    pub target_line: f64,
    pub target_text: String,
    /// The week holds the report's day.
    pub current: bool,
    pub future: bool,
    /// The column, top to bottom, in pixels of [`CHART_HEIGHT`].
    pub column: Vec<Segment>,
}

/// Month labels under the chart: how many week columns each spans.
#[derive(Debug, Clone, Serialize)]
pub struct MonthSpan {
    pub span: usize,
    pub label: String,
}

/// Valid entries per week from the opening to the close, against the target line.
#[derive(Debug, Clone, Serialize)]
pub struct WeekChart {
    pub weeks: Vec<Week>,
    pub months: Vec<MonthSpan>,
    /// The latest [`TEXT_WEEKS`] weeks up to the report's, for the text mail.
    pub recent: Vec<Week>,
    /// The value at the top of the columns.
    pub top: usize,
    pub height: u32,
}

/// The week of a day, counted from the opening (days before it fall in the first week,
/// days after the close in the last).
fn week_of(opens: NaiveDate, weeks: usize, day: NaiveDate) -> usize {
    let i = (day - opens).num_days().max(0) as usize / 7;
    i.min(weeks.saturating_sub(1))
}

/// A week's column, top to bottom: the target line as a 2-pixel mark, valid entries below.
fn column(valid: Option<usize>, target: f64, top: usize) -> Vec<Segment> {
    let h = CHART_HEIGHT;
    let px = |v: f64| ((v * h as f64 / top as f64).round() as u32).min(h);
    let line = px(target).min(h - 2);
    let Some(valid) = valid else {
        return [seg(h - line - 2, "none"), seg(2, "plan"), seg(line, "none")]
            .into_iter()
            .flatten()
            .collect();
    };
    let done = px(valid as f64);
    let parts = if done > line + 2 {
        [
            seg(h - done, "none"),
            seg(done - line - 2, "done"),
            seg(2, "mark"),
            seg(line, "done"),
        ]
    } else if done >= line {
        [
            seg(h - line - 2, "none"),
            seg(2, "mark"),
            seg(line, "done"),
            None,
        ]
    } else {
        [
            seg(h - line - 2, "none"),
            seg(2, "mark"),
            seg(line - done, "due"),
            seg(done, "done"),
        ]
    };
    parts.into_iter().flatten().collect()
}

/// Valid entries per week (by arrival) against the line from 0 at the opening to the total
/// target at the close. Entries are the versions valid as of the report: a week's number
/// is what came in that week and is valid now.
pub fn week_chart(
    c: &Campaign,
    l: &Labels,
    cal: &Calendar,
    target: u32,
    entries: &[EntryLine],
    today: NaiveDate,
) -> WeekChart {
    let opens = c.info.opens;
    let n = ((cal.days_total + 6) / 7) as usize;
    let mut new = vec![0usize; n];
    for e in entries.iter().filter(|e| e.status == EntryStatus::Valid) {
        new[week_of(opens, n, e.came_in_day(c))] += 1;
    }
    let now = week_of(opens, n, today);
    let before_open = today < opens;
    let top = (target as usize).max(new.iter().sum()).max(1);
    let mut sum = 0;
    let weeks: Vec<Week> = (0..n)
        .map(|i| {
            let start = opens + chrono::Duration::days(7 * i as i64);
            let end = (start + chrono::Duration::days(6)).min(c.info.closes);
            let line =
                target as f64 * ((end - opens).num_days() + 1) as f64 / cal.days_total as f64;
            sum += new[i];
            let future = before_open || i > now;
            let cumulative = (!future).then_some(sum);
            Week {
                label: start.format(l.format("week")).to_string(),
                start,
                new_valid: new[i],
                cumulative,
                target_line: line,
                target_text: format!("{line:.0}"),
                current: !before_open && i == now,
                future,
                column: column(cumulative, line, top),
            }
        })
        .collect();
    let recent = weeks[..=now.min(n - 1)]
        .iter()
        .rev()
        .take(TEXT_WEEKS)
        .rev()
        .cloned()
        .collect();
    WeekChart {
        months: months(l, &weeks),
        weeks,
        recent,
        top,
        height: CHART_HEIGHT,
    }
}

/// Consecutive weeks starting in the same month share a label.
fn months(l: &Labels, weeks: &[Week]) -> Vec<MonthSpan> {
    let mut out: Vec<(u32, i32, MonthSpan)> = Vec::new();
    for w in weeks {
        let (m, y) = (w.start.month(), w.start.year());
        match out.last_mut() {
            Some((lm, ly, span)) if *lm == m && *ly == y => span.span += 1,
            _ => out.push((
                m,
                y,
                MonthSpan {
                    span: 1,
                    label: w.start.format(l.format("month")).to_string(),
                },
            )),
        }
    }
    out.into_iter().map(|(_, _, s)| s).collect()
}

/// The next deadline, in words.
#[derive(Debug, Clone, Serialize)]
pub struct Deadline {
    pub text: String,
    pub days: Option<i64>,
    pub closed: bool,
}

/// Days to the next batch deadline (inclusive), or that the campaign has closed.
pub fn deadline(c: &Campaign, l: &Labels, today: NaiveDate) -> Deadline {
    let date = |d: NaiveDate| d.format(l.format("date")).to_string();
    if let Some(b) = c.batches.iter().find(|b| b.deadline >= today) {
        let days = (b.deadline - today).num_days();
        let params = json!({"batch": b.name, "date": date(b.deadline), "days": days});
        let key = if days == 0 {
            "deadline_today"
        } else {
            "deadline_next"
        };
        return Deadline {
            text: l.phrase(key, &params),
            days: Some(days),
            closed: false,
        };
    }
    let text = if today <= c.info.closes {
        l.phrase(
            "deadline_all_closed",
            &json!({
                "last_deadline": date(c.last_batch().deadline),
                "closes": date(c.info.closes),
                "days": (c.info.closes - today).num_days(),
            }),
        )
    } else {
        l.phrase("campaign_over", &json!({"closes": date(c.info.closes)}))
    };
    Deadline {
        text,
        days: None,
        closed: true,
    }
}

/// The report's day in the campaign's zone.
pub fn local_day(c: &Campaign, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&c.tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_segments_fill_the_bar() {
        for done in [0, 1, 30, 45, 46, 99, 100] {
            for time in [0, 1, 45, 99, 100] {
                let s = progress_segments(done, time);
                assert_eq!(
                    s.iter().map(|x| x.size).sum::<u32>(),
                    100,
                    "{done} {time}: {s:?}"
                );
                assert_eq!(s.iter().filter(|x| x.tone == "mark").count(), 1);
            }
        }
    }

    #[test]
    fn columns_are_the_chart_height() {
        for top in [1, 10, 800] {
            for valid in [None, Some(0), Some(1), Some(5), Some(top)] {
                for target in [0.0, 0.4, 3.0, top as f64 / 2.0, top as f64] {
                    let c = column(valid, target, top);
                    let h: u32 = c.iter().map(|x| x.size).sum();
                    assert_eq!(h, CHART_HEIGHT, "{valid:?} {target} {top}: {c:?}");
                }
            }
        }
    }

    #[test]
    fn text_bar_marks_the_time() {
        assert_eq!(
            bar_text(50.0, 0.25).chars().filter(|c| *c == '│').count(),
            1
        );
        assert!(bar_text(0.0, 0.5).starts_with("░░░"));
        assert!(bar_text(100.0, 1.0).ends_with('│'));
    }
}
