//! The GraphQL adapter: one schema over the same services as REST, resolvers
//! hold no rule of their own. Authentication: the Bearer header.
use async_graphql::{Context, EmptySubscription, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    extract::State,
    http::HeaderMap,
    response::{Html, IntoResponse},
};

use crate::{
    error::{Error, Result},
    service::{Caller, Services},
};

mod mutation;
mod query;
mod types;

pub use mutation::MutationRoot;
pub use query::QueryRoot;

/// Ferry's GraphQL schema.
pub type FerrySchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Deepest query accepted (GraphiQL's introspection query passes).
const MAX_DEPTH: usize = 24;
/// Most complex query accepted.
const MAX_COMPLEXITY: usize = 5_000;

/// Build the schema over `services` (without services: for printing the SDL).
pub fn schema(services: Option<Services>) -> FerrySchema {
    let builder = Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    match services {
        Some(services) => builder.data(services).finish(),
        None => builder.finish(),
    }
}

/// The SDL as committed in `api/schema.graphql`.
pub fn sdl() -> String {
    schema(None).sdl()
}

/// The services and the caller of a resolver; 401 without credentials.
pub(crate) fn context<'a>(ctx: &'a Context<'_>) -> Result<(&'a Services, &'a Caller)> {
    let services = ctx
        .data::<Services>()
        .map_err(|_| Error::Internal("schema without services".into()))?;
    let caller = ctx
        .data_opt::<Option<Caller>>()
        .and_then(Option::as_ref)
        .ok_or(Error::Unauthorized("missing bearer token"))?;
    Ok((services, caller))
}

/// `POST /graphql`: the Bearer header, when present, must be valid.
pub async fn execute(
    State(state): State<crate::rest::AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> std::result::Result<GraphQLResponse, Error> {
    let caller = match crate::rest::bearer_from_headers(&headers) {
        Some(token) => Some(state.services.authenticate(token).await?),
        None => None,
    };
    Ok(state
        .schema
        .execute(request.into_inner().data(caller))
        .await
        .into())
}

/// `GET /graphql`: GraphiQL.
pub async fn graphiql() -> impl IntoResponse {
    Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .finish(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_sdl_matches_the_schema() {
        let committed = include_str!("../../schema.graphql");
        assert!(
            committed == super::sdl(),
            "api/schema.graphql is out of date: run `cargo run -p api -- schema > api/schema.graphql`"
        );
    }
}
