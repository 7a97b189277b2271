//! Turning a caught panic payload into the message a report shows.

use std::any::Any;

/// The message of a panic payload, as `panic!` formatted it where possible.
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::message;

    #[test]
    fn formatted_and_static_panic_messages_are_recovered() {
        let static_payload = std::panic::catch_unwind(|| panic!("static text")).unwrap_err();
        assert_eq!(message(&*static_payload), "static text");
        let formatted = std::panic::catch_unwind(|| panic!("value {}", 42)).unwrap_err();
        assert_eq!(message(&*formatted), "value 42");
    }
}
