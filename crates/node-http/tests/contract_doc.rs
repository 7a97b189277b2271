//! The guide's "Node testing API" chapter lists exactly the routes of
//! `wire::ROUTES`, in order, in its route table.

use node_http::wire;

const CHAPTER: &str = include_str!("../../../docs/src/node-testing-api.md");

/// The `(method, path)` of every row of the table under "## Route table".
fn documented_routes() -> Vec<(String, String)> {
    let section = CHAPTER
        .split("\n## Route table\n")
        .nth(1)
        .expect("the chapter has a route table section");
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2) // the header and its separator
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].to_owned(), cells[2].trim_matches('`').to_owned())
        })
        .collect()
}

#[test]
fn the_route_table_of_the_guide_matches_the_wire_routes() {
    let expected: Vec<(String, String)> = wire::ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();

    assert_eq!(documented_routes(), expected);
}

#[test]
fn the_route_table_has_the_agreed_header() {
    let section = CHAPTER
        .split("\n## Route table\n")
        .nth(1)
        .expect("the chapter has a route table section");
    let header = section.lines().find(|line| line.starts_with('|'));

    assert_eq!(header, Some("| method | path | purpose |"));
}
