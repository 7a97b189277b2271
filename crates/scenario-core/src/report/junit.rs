//! The report as JUnit XML, for CI systems: one test suite for the run, one
//! test case per expectation, plus a case named `run` for run-level failures.

use super::Report;

impl Report {
    /// The report as JUnit XML: one test suite for the run, one test case per
    /// expectation, plus one case named `run` carrying run-level failures.
    pub fn junit(&self) -> String {
        let total_s: f64 = self
            .phases
            .iter()
            .map(|p| p.duration_ms as f64)
            .sum::<f64>()
            / 1000.0;
        let failures = self.expectations.iter().filter(|e| !e.passed).count()
            + usize::from(!self.failures.is_empty());
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        xml.push_str(&format!(
            "<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{total_s:.3}\">\n",
            xml_escape(&self.scenario),
            self.expectations.len() + 1
        ));
        xml.push_str(&format!("  <properties>\n    <property name=\"run_id\" value=\"{}\"/>\n    <property name=\"seed\" value=\"{}\"/>\n    <property name=\"deployer\" value=\"{}\"/>\n  </properties>\n", xml_escape(&self.run_id), self.seed, xml_escape(&self.deployer)));
        let mut case = |name: &str, failure: Option<&str>| {
            xml.push_str(&format!(
                "  <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(&self.scenario),
                xml_escape(name)
            ));
            match failure {
                None => xml.push_str("/>\n"),
                Some(message) => xml.push_str(&format!(
                    ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n",
                    xml_escape(message.lines().next().unwrap_or_default()),
                    xml_escape(message)
                )),
            }
        };
        let run_failure = self.failures.join("\n");
        case(
            "run",
            (!self.failures.is_empty()).then_some(run_failure.as_str()),
        );
        for expectation in &self.expectations {
            case(
                &expectation.name,
                (!expectation.passed).then_some(expectation.message.as_str()),
            );
        }
        xml.push_str("</testsuite>\n");
        xml
    }
}

fn xml_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c if c.is_control() && c != '\n' && c != '\t' => " ".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
