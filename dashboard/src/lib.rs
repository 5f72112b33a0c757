//! Ferry's admin dashboard (Leptos, server-rendered through `leptos_axum`).
//!
//! Not built yet: the dashboard issue adds its pages here. It will be a client of
//! the public GraphQL API, and `api` will depend on it to mount it, never the reverse.
#![forbid(unsafe_code)]
