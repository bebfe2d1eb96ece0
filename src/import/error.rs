//! What an import reports: row and file problems with a stable code and a
//! message in both languages, stored with the run.

use serde::{Deserialize, Serialize};

use crate::domain::{Field, Lang, ValidationError};

/// A problem found in an import, stored with the run: a stable code, the
/// column as written in the file, and the message in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub code: String,
    pub column: Option<String>,
    pub fr: String,
    pub en: String,
}

impl Issue {
    pub fn new(
        code: &str,
        column: Option<&str>,
        fr: impl Into<String>,
        en: impl Into<String>,
    ) -> Issue {
        Issue {
            code: code.to_owned(),
            column: column.map(str::to_owned),
            fr: fr.into(),
            en: en.into(),
        }
    }

    pub fn from_validation(error: &ValidationError, column: Option<&str>) -> Issue {
        Issue::new(
            error.code(),
            column,
            error.message(Lang::Fr),
            error.message(Lang::En),
        )
    }

    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        }
    }
}

/// Why a whole file is refused: nothing of it is imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("empty file")]
    Empty,
    #[error("unsupported format")]
    Unsupported,
    #[error("unreadable file")]
    Unreadable,
    #[error("too many rows")]
    TooManyRows { max: usize },
    #[error("uncompressed size over the limit")]
    Uncompressed { max_bytes: u64 },
    #[error("cell too long")]
    CellTooLong { row: u32, max: usize },
    /// An `.xls` or `.ods` whose sheets span more cells (first to last
    /// filled, repeats expanded) than can be read safely.
    #[error("too many cells")]
    TooManyCells { max: u64 },
    #[error("no header row")]
    NoHeaders,
    #[error("missing column")]
    MissingColumn { field: Field },
    #[error("latitude and longitude columns go together")]
    HalfCoordinates,
    /// The run stopped before its end (its instance died, or the database
    /// failed): nothing of it was committed.
    #[error("interrupted")]
    Interrupted,
}

impl FileError {
    pub fn issue(&self) -> Issue {
        match self {
            FileError::Empty => Issue::new(
                "FILE_EMPTY",
                None,
                "Le fichier est vide.",
                "The file is empty.",
            ),
            FileError::Unsupported => Issue::new(
                "FILE_FORMAT",
                None,
                "Format non reconnu : envoyez un fichier .xlsx, .xls, .ods ou .csv.",
                "Unrecognized format: send an .xlsx, .xls, .ods or .csv file.",
            ),
            FileError::Unreadable => Issue::new(
                "FILE_UNREADABLE",
                None,
                "Fichier illisible : il est peut-être tronqué ou endommagé. Enregistrez-le de nouveau depuis le tableur.",
                "Unreadable file: it may be truncated or damaged. Save it again from the spreadsheet program.",
            ),
            FileError::TooManyRows { max } => Issue::new(
                "LIMIT_EXCEEDED",
                None,
                format!("Le fichier dépasse {max} lignes : découpez-le en plusieurs fichiers."),
                format!("The file has more than {max} rows: split it into several files."),
            ),
            FileError::Uncompressed { max_bytes } => {
                let mib = max_bytes / (1024 * 1024);
                Issue::new(
                    "LIMIT_EXCEEDED",
                    None,
                    format!("Le fichier décompressé dépasse {mib} Mio."),
                    format!("The uncompressed file exceeds {mib} MiB."),
                )
            }
            FileError::CellTooLong { row, max } => Issue::new(
                "LIMIT_EXCEEDED",
                None,
                format!("Une cellule de la ligne {row} dépasse {max} caractères."),
                format!("A cell of row {row} exceeds {max} characters."),
            ),
            FileError::TooManyCells { max } => Issue::new(
                "LIMIT_EXCEEDED",
                None,
                format!(
                    "Les feuilles du fichier s'étendent sur plus de {max} cellules (de la première à la dernière remplie) : supprimez les cellules éloignées ou enregistrez le fichier en .xlsx."
                ),
                format!(
                    "The file's sheets span more than {max} cells (first to last filled): delete the far-away cells or save the file as .xlsx."
                ),
            ),
            FileError::NoHeaders => Issue::new(
                "HEADERS_NOT_FOUND",
                None,
                "Aucune ligne d'en-têtes reconnue dans les 10 premières lignes (Téléphone, SMS/Appel, Adresse...). Utilisez le gabarit ou l'argument columns.",
                "No header row recognized in the first 10 rows (Phone, Contact method, Address...). Use the template or the columns argument.",
            ),
            FileError::MissingColumn { field } => Issue::new(
                "MISSING_COLUMN",
                Some(field.label(Lang::Fr)),
                format!("Colonne obligatoire absente : {}.", field.label(Lang::Fr)),
                format!("Required column missing: {}.", field.label(Lang::En)),
            ),
            FileError::HalfCoordinates => Issue::new(
                "MISSING_COLUMN",
                None,
                "Les colonnes Latitude et Longitude vont ensemble : donnez les deux ou aucune.",
                "The Latitude and Longitude columns go together: give both or neither.",
            ),
            FileError::Interrupted => Issue::new(
                "INTERRUPTED",
                None,
                "L'importation s'est interrompue avant la fin : rien n'a été modifié. Relancez-la.",
                "The import stopped before its end: nothing was changed. Run it again.",
            ),
        }
    }
}
