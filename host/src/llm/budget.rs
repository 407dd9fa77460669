//! Budget accounting for language-model calls (placeholder).
