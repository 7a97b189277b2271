//! Link proxy tests (filled below).
