// Ferry's GraphiQL start-up (Ferry's own file, not vendored). Queries go to /graphql on
// this origin with the dashboard's session cookie; nothing is fetched from anywhere else.
const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
const root = ReactDOM.createRoot(document.getElementById("graphiql"));
root.render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: "# Signed in through the dashboard: this runs as you.\n{\n  me { username role }\n}\n",
  }),
);
