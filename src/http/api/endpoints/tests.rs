//! Unit tests of the endpoints' typed values and of their documentation.
use super::*;

#[test]
fn values_are_typed_and_validated() {
    let d = NaiveDate::from_ymd_opt(1970, 1, 2).unwrap();
    assert_eq!(date(d), ScalarValue::Date32(Some(1)));
    assert_eq!(login("Alice_01").unwrap(), "alice_01");
    for bad in ["", "a'b", "x; DROP", &"a".repeat(26)] {
        assert!(login(bad).is_err(), "{bad}");
    }
    assert!(limit(Some(0), 10, 100).is_err());
    assert!(limit(Some(101), 10, 100).is_err());
    assert_eq!(limit(None, 10, 100).unwrap(), int(10));
}

#[test]
fn every_endpoint_is_documented() {
    let doc = include_str!("../../../../docs/api.md");
    for (path, _, _) in ENDPOINTS {
        assert!(
            doc.contains(&format!("`/api/{path}`")),
            "docs/api.md lacks /api/{path}"
        );
    }
}

#[test]
fn weeks_start_on_monday() {
    let sunday = NaiveDate::from_ymd_opt(2026, 1, 11).unwrap();
    let monday = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    assert_eq!(
        period(Period::Week, sunday),
        (monday, monday + Days::days(7))
    );
    assert_eq!(
        period(Period::Day, sunday),
        (sunday, sunday + Days::days(1))
    );
}
