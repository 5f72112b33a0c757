//! Service errors as GraphQL errors: the public message, with `extensions.code`
//! (the REST code) and, when the error concerns one input, `extensions.field`.
use crate::service::error::Error;

/// `Error::graphql` / `.map_err(Error::graphql)` in resolvers.
pub trait ToGraphql {
    /// The GraphQL form of this error.
    fn graphql(self) -> async_graphql::Error;
}

impl ToGraphql for Error {
    fn graphql(self) -> async_graphql::Error {
        self.log_if_internal("graphql");
        let code = self.code().as_str();
        let field = self.field();
        async_graphql::ErrorExtensions::extend_with(
            async_graphql::Error::new(self.public_message()),
            |_, ext| {
                ext.set("code", code);
                if let Some(field) = field {
                    ext.set("field", field);
                }
                if let Some(secs) = self.retry_after_secs() {
                    ext.set("retryAfter", secs);
                }
            },
        )
    }
}

/// `?` in resolvers: our errors become GraphQL errors through [`ToGraphql`].
pub trait GraphQLResult<T> {
    /// Map the error to its GraphQL form.
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GraphQLResult<T> for crate::service::error::Result<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(ToGraphql::graphql)
    }
}
