//! Reads what calamine does not: an xlsx's data validations, cell and
//! column styles, widths and frozen rows, straight from the parts of the
//! archive (`xl/worksheets/sheet1.xml`, `xl/styles.xml`). Enough XML for the
//! files rust_xlsxwriter and LibreOffice write, whatever their attributes'
//! order.

use std::collections::HashMap;
use std::io::{Cursor, Read};

/// The first sheet of a workbook and its styles.
pub struct Sheet {
    sheet: String,
    styles: String,
}

/// A `<dataValidation>`: where it applies and what it shows.
#[derive(Debug, Clone)]
pub struct Validation {
    /// `list`, or `any` for a message alone (no `type`, or `none`).
    pub kind: String,
    pub sqref: String,
    /// The list's values, as written (`"SMS,Appel"`).
    pub formula: Option<String>,
    pub prompt_title: Option<String>,
    pub prompt: Option<String>,
}

/// What a cell or column looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    pub bold: bool,
    pub italic: bool,
    /// The font's `rgb` colour, `FF808080`...
    pub color: Option<String>,
    /// A solid fill's `rgb` colour.
    pub fill: Option<String>,
    /// The number format's code: `General`, `@` (text)...
    pub number_format: String,
}

impl Sheet {
    pub fn open(xlsx: &[u8]) -> Sheet {
        let mut archive = zip::ZipArchive::new(Cursor::new(xlsx)).expect("an xlsx archive");
        let mut part = |name: &str| {
            let mut text = String::new();
            archive
                .by_name(name)
                .unwrap_or_else(|_| panic!("no {name} in the archive"))
                .read_to_string(&mut text)
                .expect("utf-8 part");
            text
        };
        Sheet {
            sheet: part("xl/worksheets/sheet1.xml"),
            styles: part("xl/styles.xml"),
        }
    }

    pub fn validations(&self) -> Vec<Validation> {
        elements(&self.sheet, "dataValidation")
            .into_iter()
            .map(|element| {
                let kind = match element.attributes.get("type").map(String::as_str) {
                    None | Some("none") => "any".to_owned(),
                    Some(other) => other.to_owned(),
                };
                let formula = elements(element.inner, "formula1")
                    .first()
                    .map(|f| unescape(f.inner));
                Validation {
                    kind,
                    sqref: element.attributes["sqref"].clone(),
                    formula,
                    prompt_title: element.attributes.get("promptTitle").cloned(),
                    prompt: element.attributes.get("prompt").cloned(),
                }
            })
            .collect()
    }

    /// The validation on `cell` (`D2`), if one covers it.
    pub fn validation_of(&self, cell: &str) -> Option<Validation> {
        let (column, row) = split_cell(cell);
        self.validations().into_iter().find(|validation| {
            validation.sqref.split(' ').any(|range| {
                let (first, last) = range.split_once(':').unwrap_or((range, range));
                let ((c1, r1), (c2, r2)) = (split_cell(first), split_cell(last));
                (c1..=c2).contains(&column) && (r1..=r2).contains(&row)
            })
        })
    }

    /// Rows frozen at the top (0 when none).
    pub fn frozen_rows(&self) -> u32 {
        elements(&self.sheet, "pane")
            .first()
            .filter(|pane| pane.attributes.get("state").map(String::as_str) == Some("frozen"))
            .and_then(|pane| pane.attributes.get("ySplit"))
            .map_or(0, |rows| rows.parse::<f64>().expect("ySplit") as u32)
    }

    /// The style of `cell` (`A1`); the default style when it has none.
    pub fn cell_style(&self, cell: &str) -> Style {
        let index = elements(&self.sheet, "c")
            .into_iter()
            .find(|c| c.attributes.get("r").map(String::as_str) == Some(cell))
            .unwrap_or_else(|| panic!("no cell {cell}"))
            .attributes
            .get("s")
            .map_or(0, |s| s.parse().expect("style index"));
        self.style(index)
    }

    /// The style and width of column `column` (1 for A), from `<cols>`.
    pub fn column(&self, column: u32) -> (Style, f64) {
        let col = elements(&self.sheet, "col")
            .into_iter()
            .find(|col| {
                let bound = |name: &str| col.attributes[name].parse::<u32>().expect("col bound");
                (bound("min")..=bound("max")).contains(&column)
            })
            .unwrap_or_else(|| panic!("no <col> for column {column}"));
        let style = col
            .attributes
            .get("style")
            .map_or(0, |s| s.parse().expect("style index"));
        let width = col.attributes["width"].parse().expect("width");
        (self.style(style), width)
    }

    fn style(&self, index: usize) -> Style {
        let cell_xfs = &elements(&self.styles, "cellXfs")[0];
        let xf = &elements(cell_xfs.inner, "xf")[index];
        let id = |name: &str| -> usize {
            xf.attributes
                .get(name)
                .map_or(0, |v| v.parse().expect("style id"))
        };
        let fonts = &elements(&self.styles, "fonts")[0];
        let font = &elements(fonts.inner, "font")[id("fontId")];
        let fills = &elements(&self.styles, "fills")[0];
        let fill = &elements(fills.inner, "fill")[id("fillId")];
        let set = |name: &str| {
            elements(font.inner, name).first().is_some_and(|flag| {
                !matches!(
                    flag.attributes.get("val").map(String::as_str),
                    Some("false" | "0")
                )
            })
        };
        let solid = elements(fill.inner, "patternFill")
            .first()
            .is_some_and(|p| p.attributes.get("patternType").map(String::as_str) == Some("solid"));
        let number_format_id = id("numFmtId");
        let custom: HashMap<usize, String> = elements(&self.styles, "numFmt")
            .into_iter()
            .map(|f| {
                (
                    f.attributes["numFmtId"].parse().expect("numFmtId"),
                    f.attributes["formatCode"].clone(),
                )
            })
            .collect();
        let number_format =
            custom
                .get(&number_format_id)
                .cloned()
                .unwrap_or_else(|| match number_format_id {
                    0 => "General".to_owned(),
                    49 => "@".to_owned(),
                    other => format!("built-in {other}"),
                });
        Style {
            bold: set("b"),
            italic: set("i"),
            color: elements(font.inner, "color")
                .first()
                .and_then(|c| c.attributes.get("rgb").cloned()),
            fill: solid
                .then(|| {
                    elements(fill.inner, "fgColor")
                        .first()?
                        .attributes
                        .get("rgb")
                        .cloned()
                })
                .flatten(),
            number_format,
        }
    }
}

/// `D12` → (4, 12).
fn split_cell(cell: &str) -> (u32, u32) {
    let digits = cell.find(|c: char| c.is_ascii_digit()).expect("a row");
    let column = cell[..digits]
        .bytes()
        .fold(0, |n, b| n * 26 + u32::from(b - b'A' + 1));
    (column, cell[digits..].parse().expect("row number"))
}

struct Element<'a> {
    attributes: HashMap<String, String>,
    inner: &'a str,
}

/// Every `<name ...>` element in `xml` (not nested in one another), with its
/// attributes unescaped and its raw content.
fn elements<'a>(xml: &'a str, name: &str) -> Vec<Element<'a>> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        // `<font` must not match `<fonts`.
        if !after.starts_with([' ', '>', '/']) {
            rest = after;
            continue;
        }
        let end = after.find('>').expect("end of tag");
        let tag = &after[..end];
        let self_closing = tag.ends_with('/');
        let attributes = attributes(tag.trim_end_matches('/'));
        let body = &after[end + 1..];
        let (inner, next) = if self_closing {
            ("", body)
        } else {
            let stop = body.find(&close).expect("closing tag");
            (&body[..stop], &body[stop + close.len()..])
        };
        found.push(Element { attributes, inner });
        rest = next;
    }
    found
}

fn attributes(tag: &str) -> HashMap<String, String> {
    let mut found = HashMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_owned();
        let value_start = eq + 2;
        let value_end = value_start + rest[value_start..].find('"').expect("closing quote");
        found.insert(name, unescape(&rest[value_start..value_end]));
        rest = &rest[value_end + 1..];
    }
    found
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
