//! Golden tests: `report.html`, `junit.xml` and `report.json` of a fixed
//! report are pinned as insta snapshots under `tests/report/snapshots/`. A
//! change to any of them shows as a diff and fails the test until the new
//! snapshot is reviewed and accepted (`INSTA_UPDATE=always`, or
//! `cargo insta review`); with `CI` set nothing is written, it only fails.

mod fixture;

use scenario_core::report::Report;

#[test]
fn report_html_is_pinned() {
    insta::assert_snapshot!("report.html", fixture::report().html());
}

#[test]
fn junit_xml_is_pinned() {
    insta::assert_snapshot!("junit.xml", fixture::report().junit());
}

#[test]
fn report_json_is_pinned_and_reads_back() {
    let report = fixture::report();
    let json = report.to_json().unwrap();
    insta::assert_snapshot!("report.json", json);
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn a_report_written_before_the_run_settings_and_causes_still_reads() {
    let mut json: serde_json::Value =
        serde_json::from_str(&fixture::report().to_json().unwrap()).unwrap();
    let object = json.as_object_mut().unwrap();
    for field in ["window_ms", "cooldown_ms", "deadline_ms", "heights"] {
        object.remove(field).unwrap();
    }
    for event in object["events"].as_array_mut().unwrap() {
        event.as_object_mut().unwrap().remove("cause");
    }
    for node in object["nodes"].as_array_mut().unwrap() {
        node.as_object_mut().unwrap().remove("joined_at_ms");
    }
    let old: Report = serde_json::from_value(json).unwrap();
    assert_eq!((old.window_ms, old.cooldown_ms, old.deadline_ms), (0, 0, 0));
    assert!(old.events.iter().all(|e| e.cause.is_none()));
    assert!(old.heights.is_empty());
    // An older report still renders, its fault windows read from the
    // events' kinds and fault ids alone.
    let html = old.html();
    assert!(html.contains("partition validator-0,validator-1 | validator-2,validator-3"));
    assert!(html.contains("validator-3 down"));
}

#[test]
fn the_page_is_self_contained() {
    let html = fixture::report().html();
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "nothing loaded"
    );
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "the only URLs are SVG namespaces"
    );
    assert!(
        html.contains("golden &lt;chaos&gt; &amp; &quot;friends&quot;"),
        "text is escaped"
    );
}
