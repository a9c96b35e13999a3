//! The PDF: the book's data set by typst, used as a library with a `World` of our own.
//!
//! The world holds exactly two files — the layout (`/main.typ`, from the template) and the
//! data (`/data.json`) — and the fonts loaded from the files the config names (Debian's
//! fonts-noto-cjk by default). It reads nothing else: no package, no system font, no clock
//! (`today` is none), so the same data and fonts give the same bytes; the PDF's document
//! identifier is derived from the data, and no creation date is written.
//!
//! typst breaks Chinese lines by the Unicode line-breaking rules with CJK punctuation
//! handling, so a closing mark (，。、）」 …) never starts a line; the tests check the
//! text of the PDF for it. The bold face is the real Bold of the font files (a face of
//! weight 700), never a synthesised one, and typst-pdf embeds (subsets of) every font used.

use std::path::PathBuf;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use super::{Book, BookError};

/// The fonts a book is set in, loaded once (a web handler keeps them between books).
pub struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

impl Fonts {
    /// Loads every face of the given font files (.ttf, .otf, .ttc).
    pub fn load(paths: &[PathBuf]) -> Result<Fonts, BookError> {
        let mut fonts = Vec::new();
        for path in paths {
            let data = std::fs::read(path).map_err(|e| BookError::Font {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            let before = fonts.len();
            fonts.extend(Font::iter(Bytes::new(data)));
            if fonts.len() == before {
                return Err(BookError::Font {
                    path: path.display().to_string(),
                    message: "不是可用的字体文件".into(),
                });
            }
        }
        let book = FontBook::from_fonts(&fonts);
        Ok(Fonts {
            book: LazyHash::new(book),
            fonts,
        })
    }

    /// Whether a family of this name is among the faces (case-insensitive, as typst
    /// matches families).
    pub fn has_family(&self, family: &str) -> bool {
        self.book
            .families()
            .any(|(name, _)| name.eq_ignore_ascii_case(family))
    }
}

struct BookWorld<'a> {
    library: LazyHash<Library>,
    fonts: &'a Fonts,
    main: Source,
    data_id: FileId,
    data: Bytes,
}

fn file_id(path: &str) -> FileId {
    FileId::new(RootedPath::new(
        VirtualRoot::Project,
        VirtualPath::new(path).expect("a fixed, valid path"),
    ))
}

impl World for BookWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else if id == self.main.id() {
            Ok(Bytes::new(self.main.text().as_bytes().to_vec()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // No clock: a book states the date its config gives, in its data.
        None
    }
}

/// Sets the book with the typst layout `typ` and returns the PDF's bytes.
pub fn typeset(book: &Book, typ: &str, fonts: &Fonts) -> Result<Vec<u8>, BookError> {
    for family in [&book.fonts.body, &book.fonts.heading] {
        if !fonts.has_family(family) {
            return Err(BookError::MissingFont {
                family: family.clone(),
            });
        }
    }
    let data = serde_json::to_vec(book).expect("the book serialises");
    let ident = crate::registry::sha256_hex(&data);
    let world = BookWorld {
        library: LazyHash::new(Library::builder().build()),
        fonts,
        main: Source::new(file_id("/main.typ"), typ.to_string()),
        data_id: file_id("/data.json"),
        data: Bytes::new(data),
    };
    let document: PagedDocument = typst::compile(&world).output.map_err(|errors| {
        BookError::Typeset(
            errors
                .iter()
                .map(|e| e.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(ident),
        timestamp: None,
        ..Default::default()
    };
    typst_pdf::pdf(&document, &options).map_err(|errors| {
        BookError::Typeset(
            errors
                .iter()
                .map(|e| e.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}
