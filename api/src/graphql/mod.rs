//! The GraphQL adapter: one schema over the same services as REST, resolvers
//! hold no rule of their own. Authentication: the Bearer header.
use crate::graphql::errors::ToGraphql;
use async_graphql::{Context, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{extract::State, http::HeaderMap};

use crate::{
    service::error::{Error, Result},
    service::{Caller, Services},
};

mod accounts;
mod changes;
mod documents;
pub mod errors;
mod graphiql;
pub mod guard;
mod mutation;
mod plain;
mod query;
mod socket;
mod subscription;
mod types;

use crate::app::extract::ClientAddress;
pub use socket::{Sockets, websocket};

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

/// `/graphql` (queries and mutations over HTTP, GraphiQL) and `/graphql/ws`
/// (subscriptions). HTTP bodies are read whole under the size limit and deadline.
pub fn routes<S>(bounds: crate::app::body_bounds::BodyBounds) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: axum::extract::FromRef<S>,
    FerrySchema: axum::extract::FromRef<S>,
    SocketSchema: axum::extract::FromRef<S>,
    Sockets: axum::extract::FromRef<S>,
{
    use axum::routing::get;
    axum::Router::new()
        .route("/graphql", get(graphiql::page).post(execute))
        .route("/assets/graphiql/{name}", get(graphiql::asset))
        .route("/graphql/ws", get(websocket))
        .layer(axum::middleware::from_fn_with_state(
            bounds,
            crate::app::body_bounds::small_bodies,
        ))
}

/// Ferry's GraphQL schema.
pub type FerrySchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Deepest query accepted (GraphiQL's introspection query passes).
const MAX_DEPTH: usize = 24;
/// Most complex query accepted.
const MAX_COMPLEXITY: usize = 5_000;

/// Build the schema over `services` (without services: for printing the SDL).
/// Requests reach it through [`execute_as`], which checks their documents first.
pub fn schema(services: Option<Services>) -> FerrySchema {
    let builder = limited();
    match services {
        Some(services) => builder.data(services).finish(),
        None => builder.finish(),
    }
}

/// The schema's types with the depth and complexity limits (every schema has them).
fn limited() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot, MutationRoot::default(), SubscriptionRoot)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The schema the WebSocket endpoint runs: the same, with the [`guard::Guard`]
/// extension checking each document and counting each socket's subscriptions.
#[derive(Clone)]
pub struct SocketSchema(pub FerrySchema);

impl std::fmt::Debug for SocketSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketSchema").finish_non_exhaustive()
    }
}

impl SocketSchema {
    /// The socket schema over `services`.
    pub fn new(services: Services) -> Self {
        Self(limited().extension(guard::Guard).data(services).finish())
    }
}

/// The SDL as committed in `api/schema.graphql`.
pub fn sdl() -> String {
    schema(None).sdl()
}

/// The bearer token a request authenticated with (for `logout`).
#[derive(Clone, Debug)]
pub struct BearerToken(pub String);

/// Run `request` as the holder of `token` (none: anonymous): the HTTP endpoint, the
/// dashboard's server functions and tests all come through here.
pub async fn execute_as(
    services: &Services,
    schema: &FerrySchema,
    token: Option<&str>,
    request: async_graphql::Request,
) -> Result<async_graphql::Response> {
    if let Err(message) = guard::check_document(&request.query) {
        let error = guard::refused(crate::service::Code::InvalidInput, message);
        return Ok(async_graphql::Response::from_errors(vec![error]));
    }
    let mut request = request;
    if let Some(doc) = documents::DOCUMENTS.parsed(&request.query) {
        request.set_parsed_query(doc);
    }
    let caller = match token {
        Some(token) => {
            request = request.data(BearerToken(token.to_owned()));
            Some(services.authenticate(token).await?)
        }
        None => None,
    };
    Ok(schema.execute(request.data(caller)).await)
}

/// The dashboard's way into the schema: each of its operations runs as the holder of
/// the session's token, exactly as a client posting to `/graphql` would.
#[derive(Clone)]
pub struct DashboardApi {
    pub services: Services,
    pub schema: FerrySchema,
}

impl std::fmt::Debug for DashboardApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardApi").finish_non_exhaustive()
    }
}

impl dashboard::GraphqlApi for DashboardApi {
    fn execute(
        &self,
        token: Option<String>,
        request: async_graphql::Request,
        http: axum::http::Extensions,
    ) -> futures_util::future::BoxFuture<'static, async_graphql::Response> {
        let this = self.clone();
        let request = match http.get::<ClientAddress>() {
            Some(address) => request.data(*address),
            None => request,
        };
        Box::pin(async move {
            match execute_as(&this.services, &this.schema, token.as_deref(), request).await {
                Ok(response) => response,
                Err(error) => async_graphql::Response::from_errors(vec![
                    error
                        .graphql()
                        .into_server_error(async_graphql::Pos::default()),
                ]),
            }
        })
    }
}

/// The services and the caller of a resolver; 401 without credentials.
pub(crate) fn context<'a>(ctx: &'a Context<'_>) -> Result<(&'a Services, &'a Caller)> {
    let services = ctx
        .data::<Services>()
        .map_err(|_| Error::internal("schema without services"))?;
    let caller = ctx
        .data_opt::<Option<Caller>>()
        .and_then(Option::as_ref)
        .ok_or(Error::unauthorized("missing bearer token"))?;
    Ok((services, caller))
}

/// `POST /graphql`: the Bearer header, when present, must be valid; without one,
/// the dashboard's session cookie counts on a same-origin request (GraphiQL in
/// the signed-in browser), never on another site's. (The body was bounded in
/// size and time before it reached here.)
pub async fn execute(
    State(services): State<Services>,
    State(schema): State<FerrySchema>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    address: Option<axum::Extension<ClientAddress>>,
    request: GraphQLRequest,
) -> std::result::Result<GraphQLResponse, Error> {
    let session =
        crate::app::extract::same_origin_session(&headers, uri.authority().map(|a| a.as_str()));
    let token = crate::app::extract::bearer_from_headers(&headers).or(session.as_deref());
    let mut request = request.into_inner();
    if let Some(axum::Extension(address)) = address {
        request = request.data(address);
    }
    Ok(execute_as(&services, &schema, token, request).await?.into())
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
