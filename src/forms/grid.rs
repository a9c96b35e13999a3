//! The intermediate table model both readers produce: rows of cells with their text, their
//! horizontal span and whether they continue a vertical merge. Label matching works on this
//! model only, so .docx and .xlsx forms are recognised by the same code.

/// One cell as the reader saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    /// Paragraphs joined by '\n' (not trimmed).
    pub text: String,
    /// Grid columns covered (gridSpan, or the width of a merged region); at least 1.
    pub span: usize,
    /// The cell continues a vertical merge started above (its text is not the value).
    pub vcont: bool,
}

impl Cell {
    pub fn new(text: String, span: usize, vcont: bool) -> Cell {
        Cell {
            text,
            span: span.max(1),
            vcont,
        }
    }
}

/// One table row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// 1-based row number in the source (sheet row, or running row count of the document).
    pub number: usize,
    /// Index of the table the row belongs to (0-based; a sheet is one table).
    pub table: usize,
    pub cells: Vec<Cell>,
}

impl Row {
    /// Grid column where each cell starts.
    pub fn columns(&self) -> Vec<usize> {
        let mut col = 0usize;
        self.cells
            .iter()
            .map(|c| {
                let start = col;
                col = col.saturating_add(c.span);
                start
            })
            .collect()
    }

    /// Index of the cell starting at grid column `col`, if any.
    pub fn cell_at(&self, col: usize) -> Option<usize> {
        let mut start = 0usize;
        for (i, c) in self.cells.iter().enumerate() {
            if start == col {
                return Some(i);
            }
            if start > col {
                return None;
            }
            start = start.saturating_add(c.span);
        }
        None
    }
}

/// A document as tables plus free paragraphs.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub rows: Vec<Row>,
    /// Paragraphs outside tables, in reading order.
    pub paragraphs: Vec<String>,
    /// All text in reading order, paragraphs and cells joined by '\n'.
    pub text: String,
}
