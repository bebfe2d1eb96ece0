//! One cell as read from any format, and how each field reads it (numeric
//! phone cells, text numbers, dates as numbers), before validation.

/// One cell as read from any format, before interpretation.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A formula error such as `#N/A`: a row error wherever it stands.
    Error(String),
}

/// What Excel shows (and writes to CSV) for a formula that failed.
const ERROR_LITERALS: [&str; 8] = [
    "#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!",
];

impl Cell {
    /// A formula error: a real error cell, or its literal in a CSV.
    pub fn error(&self) -> Option<&str> {
        match self {
            Cell::Error(error) => Some(error),
            Cell::Text(text) => ERROR_LITERALS.iter().find(|e| text.trim() == **e).copied(),
            _ => None,
        }
    }

    /// The value as a person reads it in the spreadsheet: numbers that hold
    /// identifiers (phone, client id, postal code) as the integer shown,
    /// `4185551234`, never `4185551234.0` or `4.18E+09`.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty | Cell::Error(_) => String::new(),
            Cell::Text(text) => crate::domain::clean(text),
            Cell::Int(n) => n.to_string(),
            Cell::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Cell::Float(f) => f.to_string(),
            Cell::Bool(b) => if *b { "VRAI" } else { "FAUX" }.to_owned(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(text) => text
                .trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}')
                .is_empty(),
            _ => false,
        }
    }

    /// Characters of a text cell, for the cell-length limit.
    pub fn len_chars(&self) -> usize {
        match self {
            Cell::Text(text) => text.chars().count(),
            _ => 0,
        }
    }
}

/// A non-empty row with the number the spreadsheet program shows (1-based).
#[derive(Clone, Debug, PartialEq)]
pub struct RawRow {
    pub number: u32,
    pub cells: Vec<Cell>,
}

impl RawRow {
    pub fn cell(&self, index: usize) -> &Cell {
        self.cells.get(index).unwrap_or(&Cell::Empty)
    }
}

#[cfg(test)]
mod tests {
    use super::Cell;

    #[test]
    fn numeric_cells_read_as_the_integer_shown() {
        assert_eq!(Cell::Float(4185551234.0).text(), "4185551234");
        assert_eq!(Cell::Int(1001).text(), "1001");
        assert_eq!(Cell::Float(46.8123).text(), "46.8123");
        assert_eq!(Cell::Text("  Jean\u{a0} Roy ".into()).text(), "Jean Roy");
        assert!(Cell::Text(" \u{a0}".into()).is_empty());
    }
}
