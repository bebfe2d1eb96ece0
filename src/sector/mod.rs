//! Sectors as geometry, pure: GeoJSON parsed and validated with the
//! `geojson` crate, tested with `geo` (a point on the boundary is inside),
//! and which sectors a point falls in.

use geo::{BoundingRect, Coord, Intersects, LineString, MultiPolygon, Point, Polygon};
use serde_json::Value as JsonValue;

use crate::domain::Lang;

/// A validated sector geometry, ready for point tests.
#[derive(Clone, Debug)]
pub struct Shape {
    /// The geometry as stored and served: a GeoJSON Polygon or MultiPolygon.
    pub geojson: JsonValue,
    shape: MultiPolygon<f64>,
    pub bbox: BoundingBox,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundingBox {
    pub min_latitude: f64,
    pub min_longitude: f64,
    pub max_latitude: f64,
    pub max_longitude: f64,
}

impl BoundingBox {
    fn holds(&self, latitude: f64, longitude: f64) -> bool {
        (self.min_latitude..=self.max_latitude).contains(&latitude)
            && (self.min_longitude..=self.max_longitude).contains(&longitude)
    }
}

/// What is wrong with a geometry, worded for the person who drew it.
#[derive(Clone, Debug, PartialEq)]
pub enum GeometryError {
    NotGeoJson(String),
    WrongType(String),
    TooFewPositions {
        polygon: usize,
        ring: usize,
        count: usize,
    },
    NotClosed {
        polygon: usize,
        ring: usize,
    },
    BadPosition {
        polygon: usize,
        ring: usize,
        position: usize,
    },
    Longitude {
        value: f64,
    },
    Latitude {
        value: f64,
    },
    Empty,
    TooManyVertices {
        max: usize,
    },
}

impl GeometryError {
    pub fn message(&self, lang: Lang) -> String {
        let at = |polygon: &usize, ring: &usize| match lang {
            Lang::Fr if *ring == 0 => format!("polygone {}, contour extérieur", polygon + 1),
            Lang::Fr => format!("polygone {}, trou {}", polygon + 1, ring),
            Lang::En if *ring == 0 => format!("polygon {}, outer ring", polygon + 1),
            Lang::En => format!("polygon {}, hole {}", polygon + 1, ring),
        };
        match self {
            GeometryError::NotGeoJson(detail) => lang.pick(
                format!("Géométrie GeoJSON illisible : {detail}"),
                format!("Unreadable GeoJSON geometry: {detail}"),
            ),
            GeometryError::WrongType(found) => lang.pick(
                format!("La géométrie doit être un Polygon ou un MultiPolygon, pas un {found}."),
                format!("The geometry must be a Polygon or a MultiPolygon, not a {found}."),
            ),
            GeometryError::TooFewPositions { polygon, ring, count } => lang.pick(
                format!("{} : au moins 4 positions sont requises, {count} données.", at(polygon, ring)),
                format!("{}: at least 4 positions are required, {count} given.", at(polygon, ring)),
            ),
            GeometryError::NotClosed { polygon, ring } => lang.pick(
                format!("{} : l'anneau n'est pas fermé (la dernière position doit répéter la première).", at(polygon, ring)),
                format!("{}: the ring is not closed (the last position must repeat the first).", at(polygon, ring)),
            ),
            GeometryError::BadPosition { polygon, ring, position } => lang.pick(
                format!("{} : la position {} doit être [longitude, latitude].", at(polygon, ring), position + 1),
                format!("{}: position {} must be [longitude, latitude].", at(polygon, ring), position + 1),
            ),
            GeometryError::Longitude { value } => lang.pick(
                format!("Longitude {value} hors de [-180, 180] (GeoJSON donne [longitude, latitude])."),
                format!("Longitude {value} outside [-180, 180] (GeoJSON gives [longitude, latitude])."),
            ),
            GeometryError::Latitude { value } => lang.pick(
                format!("Latitude {value} hors de [-90, 90] (GeoJSON donne [longitude, latitude])."),
                format!("Latitude {value} outside [-90, 90] (GeoJSON gives [longitude, latitude])."),
            ),
            GeometryError::Empty => lang.pick("La géométrie n'a aucun polygone.", "The geometry has no polygon."),
            GeometryError::TooManyVertices { max } => lang.pick(
                format!("Géométrie trop détaillée : {max} positions au plus (simplifiez-la, par exemple avec QGIS)."),
                format!("Geometry too detailed: {max} positions at most (simplify it, with QGIS for example)."),
            ),
        }
    }
}

type Rings = Vec<Vec<Vec<f64>>>;

fn ring(
    polygon: usize,
    index: usize,
    positions: &[Vec<f64>],
) -> Result<LineString<f64>, GeometryError> {
    if positions.len() < 4 {
        return Err(GeometryError::TooFewPositions {
            polygon,
            ring: index,
            count: positions.len(),
        });
    }
    let mut coords = Vec::with_capacity(positions.len());
    for (position, values) in positions.iter().enumerate() {
        let [longitude, latitude] = values
            .get(..2)
            .and_then(|v| <[f64; 2]>::try_from(v).ok())
            .ok_or(GeometryError::BadPosition {
                polygon,
                ring: index,
                position,
            })?;
        if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
            return Err(GeometryError::Longitude { value: longitude });
        }
        if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
            return Err(GeometryError::Latitude { value: latitude });
        }
        coords.push(Coord {
            x: longitude,
            y: latitude,
        });
    }
    if coords.first() != coords.last() {
        return Err(GeometryError::NotClosed {
            polygon,
            ring: index,
        });
    }
    Ok(LineString::new(coords))
}

fn polygon(index: usize, rings: &Rings) -> Result<Polygon<f64>, GeometryError> {
    let mut rings = rings.iter().enumerate().map(|(i, r)| ring(index, i, r));
    let exterior = rings.next().ok_or(GeometryError::Empty)??;
    let holes = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, holes))
}

/// The positions (`[longitude, latitude]` arrays) under `value`, counting
/// no further than `max + 1`.
fn positions(value: &JsonValue, max: usize) -> usize {
    let mut stack = vec![value];
    let mut count = 0;
    while let Some(value) = stack.pop() {
        match value {
            JsonValue::Array(items) if items.first().is_some_and(JsonValue::is_number) => {
                count += 1;
                if count > max {
                    break;
                }
            }
            JsonValue::Array(items) => stack.extend(items),
            JsonValue::Object(fields) => stack.extend(fields.values()),
            _ => {}
        }
    }
    count
}

impl Shape {
    /// [`Shape::parse`] for a geometry of at most `max_vertices` positions
    /// (counted before anything is parsed): what a user may send.
    pub fn parse_bounded(value: &JsonValue, max_vertices: usize) -> Result<Shape, GeometryError> {
        Shape::check_vertices(value, max_vertices)?;
        Shape::parse(value)
    }

    /// Refuses a geometry of more than `max_vertices` positions.
    pub fn check_vertices(value: &JsonValue, max_vertices: usize) -> Result<(), GeometryError> {
        match positions(value, max_vertices) > max_vertices {
            true => Err(GeometryError::TooManyVertices { max: max_vertices }),
            false => Ok(()),
        }
    }

    /// A GeoJSON `Polygon` or `MultiPolygon` geometry, in WGS84.
    pub fn parse(value: &JsonValue) -> Result<Shape, GeometryError> {
        let geometry = geojson::Geometry::from_json_value(value.clone())
            .map_err(|e| GeometryError::NotGeoJson(e.to_string()))?;
        let polygons: Vec<Polygon<f64>> = match &geometry.value {
            geojson::Value::Polygon(rings) => vec![polygon(0, rings)?],
            geojson::Value::MultiPolygon(polygons) => polygons
                .iter()
                .enumerate()
                .map(|(i, rings)| polygon(i, rings))
                .collect::<Result<_, _>>()?,
            other => return Err(GeometryError::WrongType(other.type_name().to_owned())),
        };
        let shape = MultiPolygon::new(polygons);
        let rect = shape.bounding_rect().ok_or(GeometryError::Empty)?;
        let bbox = BoundingBox {
            min_latitude: rect.min().y,
            min_longitude: rect.min().x,
            max_latitude: rect.max().y,
            max_longitude: rect.max().x,
        };
        let geojson =
            serde_json::to_value(geojson::Geometry::new(geometry.value)).unwrap_or(JsonValue::Null);
        Ok(Shape {
            geojson,
            shape,
            bbox,
        })
    }

    /// Its positions, every ring's.
    pub fn vertices(&self) -> usize {
        use geo::CoordsIter;
        self.shape.coords_count()
    }

    /// Inside or on the boundary; a point in a hole is outside.
    pub fn holds(&self, latitude: f64, longitude: f64) -> bool {
        self.bbox.holds(latitude, longitude)
            && self.shape.intersects(&Point::new(longitude, latitude))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn square(min: f64, max: f64) -> Vec<Vec<f64>> {
        vec![
            vec![min, min],
            vec![max, min],
            vec![max, max],
            vec![min, max],
            vec![min, min],
        ]
    }

    #[test]
    fn a_polygon_with_a_hole_holds_its_boundary_but_not_its_hole() {
        let shape = Shape::parse(
            &json!({"type": "Polygon", "coordinates": [square(0.0, 10.0), square(4.0, 6.0)]}),
        )
        .unwrap();
        assert!(shape.holds(1.0, 1.0));
        assert!(shape.holds(0.0, 5.0), "on the boundary");
        assert!(!shape.holds(5.0, 5.0), "in the hole");
        assert!(shape.holds(4.0, 5.0), "on the hole's boundary");
        assert!(!shape.holds(11.0, 5.0));
        assert_eq!(
            shape.bbox,
            BoundingBox {
                min_latitude: 0.0,
                min_longitude: 0.0,
                max_latitude: 10.0,
                max_longitude: 10.0
            }
        );
    }

    #[test]
    fn a_multipolygon_holds_each_part() {
        let shape = Shape::parse(&json!({"type": "MultiPolygon", "coordinates": [[square(0.0, 1.0)], [square(5.0, 6.0)]]})).unwrap();
        assert!(shape.holds(0.5, 0.5));
        assert!(shape.holds(5.5, 5.5));
        assert!(!shape.holds(3.0, 3.0));
    }

    #[test]
    fn invalid_geometries_say_what_is_wrong() {
        let cases = [
            (json!({"type": "Point", "coordinates": [1, 2]}), "Point"),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}),
                "au moins 4 positions",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
                "pas fermé",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}),
                "Longitude 200",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 95], [1, 1], [0, 0]]]}),
                "Latitude 95",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1], [1, 1], [0, 0]]]}),
                "two or more elements",
            ),
            (json!({"type": "Polygon"}), "illisible"),
            (json!("nope"), "illisible"),
        ];
        for (value, expected) in cases {
            let message = Shape::parse(&value).unwrap_err().message(Lang::Fr);
            assert!(message.contains(expected), "{value}: {message}");
        }
    }

    #[test]
    fn a_geometry_is_bounded_by_its_positions_in_all_its_rings() {
        let value = json!({"type": "MultiPolygon",
                           "coordinates": [[square(0.0, 1.0)], [square(2.0, 3.0), square(2.2, 2.4)]]});
        assert_eq!(
            Shape::parse_bounded(&value, 14).unwrap_err(),
            GeometryError::TooManyVertices { max: 14 }
        );
        let shape = Shape::parse_bounded(&value, 15).unwrap();
        assert_eq!(shape.vertices(), 15);
    }
}
