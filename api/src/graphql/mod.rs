//! The GraphQL adapter: one schema over the same services as REST, resolvers
//! hold no rule of their own. Authentication: the Bearer header.
use async_graphql::{Context, Data, Schema};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::{
    extract::{State, WebSocketUpgrade},
    http::HeaderMap,
    response::{Html, IntoResponse, Response},
};

use crate::{
    error::{Error, Result},
    service::{Caller, Services},
};

mod mutation;
mod query;
mod subscription;
mod types;

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

/// Ferry's GraphQL schema.
pub type FerrySchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Deepest query accepted (GraphiQL's introspection query passes).
const MAX_DEPTH: usize = 24;
/// Most complex query accepted.
const MAX_COMPLEXITY: usize = 5_000;

/// Build the schema over `services` (without services: for printing the SDL).
pub fn schema(services: Option<Services>) -> FerrySchema {
    let builder = Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
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

/// `GET /graphql/ws`: subscriptions over `graphql-transport-ws`; the
/// `connection_init` payload `{"authorization": "Bearer …"}` authenticates.
pub async fn websocket(
    State(state): State<crate::rest::AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let crate::rest::AppState {
        services, schema, ..
    } = state;
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let token = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(|v| v.as_str())
                        .and_then(|v| v.split_once(' '))
                        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                        .map(|(_, token)| token.trim().to_owned());
                    let caller = match token {
                        Some(token) => Some(
                            services
                                .authenticate(&token)
                                .await
                                .map_err(Error::graphql)?,
                        ),
                        None => None,
                    };
                    let mut data = Data::default();
                    data.insert(caller);
                    Ok(data)
                })
                .serve()
        })
}

/// `GET /graphql`: GraphiQL.
pub async fn graphiql() -> impl IntoResponse {
    Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
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
