//! The editable .docx of the book, written with docx-rs (writing only: ARCHITECTURE.md's
//! decision against docx-rs concerns its reader, which can hang on malformed input; the
//! writer takes our own values and has no such path).
//!
//! Same structure as the PDF: cover, 前言, a table-of-contents field (Word and WPS fill in
//! the page numbers when the field is updated), one part per kind (Heading 1), one section
//! per entry (Heading 2, on a new page) with its facts and its texts (Heading 3). Every
//! style and every run names its East Asian font (`w:eastAsia`): without it Word and WPS
//! take Chinese text from the theme's Latin font. The core properties carry the book's
//! date, not the time of writing, so the same book gives the same bytes.

use chrono::NaiveDate;
use docx_rs::{
    AlignmentType, BreakType, Docx, Footer, Header, PageNum, Paragraph, Run, RunFonts,
    SpecialIndentType, Style, StyleType, TableOfContents,
};

use super::template::BookTemplate;
use super::{Book, BookError};

/// Half-points (Word's unit of font size).
const BODY_SIZE: usize = 24; // 12 pt (小四)
const H1_SIZE: usize = 36;
const H2_SIZE: usize = 32;
const H3_SIZE: usize = 28;

/// Writes the .docx of the book.
pub fn write(book: &Book, template: &BookTemplate, date: NaiveDate) -> Result<Vec<u8>, BookError> {
    let f = &template.toml.docx;
    let body_fonts = || {
        RunFonts::new()
            .east_asia(&f.body_east_asia)
            .ascii(&f.latin)
            .hi_ansi(&f.latin)
            .cs(&f.latin)
    };
    let heading_fonts = || {
        RunFonts::new()
            .east_asia(&f.heading_east_asia)
            .ascii(&f.latin)
            .hi_ansi(&f.latin)
            .cs(&f.latin)
    };
    let run = |text: &str| Run::new().add_text(text).fonts(body_fonts());
    let bold_run = |text: &str| Run::new().add_text(text).fonts(heading_fonts()).bold();
    let heading = |level: usize, text: &str| {
        Paragraph::new()
            .style(&format!("Heading{level}"))
            .add_run(Run::new().add_text(text).fonts(heading_fonts()))
    };
    let body = |text: &str| {
        Paragraph::new()
            .style("Normal")
            .first_line_chars(200)
            .indent(None, Some(SpecialIndentType::FirstLine(480)), None, None)
            .add_run(run(text))
    };
    let stamp = format!("{}T00:00:00Z", date.format("%Y-%m-%d"));

    let mut doc = Docx::new()
        .created_at(&stamp)
        .updated_at(&stamp)
        .default_fonts(body_fonts())
        .default_size(BODY_SIZE)
        .add_style(
            Style::new("Normal", StyleType::Paragraph)
                .name("Normal")
                .fonts(body_fonts())
                .size(BODY_SIZE),
        )
        .add_style(heading_style(1, H1_SIZE, heading_fonts()).align(AlignmentType::Center))
        .add_style(heading_style(2, H2_SIZE, heading_fonts()).align(AlignmentType::Center))
        .add_style(heading_style(3, H3_SIZE, heading_fonts()))
        .add_style(
            Style::new("Title", StyleType::Paragraph)
                .name("Title")
                .fonts(heading_fonts())
                .bold()
                .size(48)
                .align(AlignmentType::Center),
        )
        .header(
            Header::new().add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .add_run(run(&book.running_head).size(18)),
            ),
        )
        .footer(
            Footer::new().add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .add_page_num(PageNum::new()),
            ),
        );

    // Cover.
    for _ in 0..6 {
        doc = doc.add_paragraph(Paragraph::new());
    }
    doc = doc
        .add_paragraph(
            Paragraph::new()
                .style("Title")
                .add_run(bold_run(&book.cover.title).size(48)),
        )
        .add_paragraph(Paragraph::new())
        .add_paragraph(
            Paragraph::new().align(AlignmentType::Center).add_run(
                Run::new()
                    .add_text(&book.cover.subtitle)
                    .fonts(heading_fonts())
                    .size(36),
            ),
        );
    for _ in 0..8 {
        doc = doc.add_paragraph(Paragraph::new());
    }
    doc = doc.add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_run(run(&book.cover.date).size(28))
            .add_run(Run::new().add_break(BreakType::Page)),
    );

    // 前言.
    doc = doc.add_paragraph(heading(1, &book.preface.title));
    for p in &book.preface.paragraphs {
        doc = doc.add_paragraph(body(p));
    }
    for line in &book.preface.signature {
        doc = doc.add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Right)
                .add_run(run(line)),
        );
    }

    // 目录: a TOC field over Heading 1–2, marked dirty so the editor fills it on opening.
    doc = doc
        .add_paragraph(
            Paragraph::new()
                .page_break_before(true)
                .align(AlignmentType::Center)
                .add_run(bold_run(&book.toc_title).size(H1_SIZE)),
        )
        .add_table_of_contents(
            TableOfContents::new()
                .heading_styles_range(1, 2)
                .alias(&book.toc_title)
                .dirty(),
        );

    for part in &book.kinds {
        doc = doc.add_paragraph(heading(1, &part.name).page_break_before(true));
        for e in &part.entries {
            doc = doc.add_paragraph(heading(2, &e.name).page_break_before(true));
            for (label, value) in &e.meta {
                doc = doc.add_paragraph(
                    Paragraph::new()
                        .add_run(bold_run(&format!("{label}：")))
                        .add_run(run(value)),
                );
            }
            for b in &e.blocks {
                doc = doc.add_paragraph(heading(3, &b.label));
                for p in &b.paragraphs {
                    doc = doc.add_paragraph(body(p));
                }
            }
        }
    }

    let mut out = std::io::Cursor::new(Vec::new());
    doc.build()
        .pack(&mut out)
        .map_err(|e| BookError::Docx(e.to_string()))?;
    Ok(out.into_inner())
}

fn heading_style(level: usize, size: usize, fonts: RunFonts) -> Style {
    Style::new(format!("Heading{level}"), StyleType::Paragraph)
        .name(format!("heading {level}"))
        .based_on("Normal")
        .next("Normal")
        .outline_lvl(level - 1)
        .fonts(fonts)
        .bold()
        .size(size)
}
