//! A GraphQL WebSocket client for tests (`graphql-transport-ws` over
//! tokio-tungstenite): connect, `connection_init` with a token, and the next
//! JSON message.
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// An open socket, plain or TLS.
pub type GraphqlSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The upgrade request for `base`'s `/graphql/ws` (`http…` → `ws…`) with the subprotocol.
pub fn request(base: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().expect("websocket url");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    request
}

/// A plain socket to `base`, initialised with `token` when given.
pub async fn connect(base: &str, token: Option<&str>) -> GraphqlSocket {
    let (mut socket, _) = tokio_tungstenite::connect_async(request(base))
        .await
        .expect("websocket connect");
    if let Some(token) = token {
        init(&mut socket, token).await;
    }
    socket
}

/// Send `connection_init` with `token` and wait for the ack.
pub async fn init(socket: &mut GraphqlSocket, token: &str) {
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .expect("send connection_init");
    let ack = next_json(socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
}

/// The next text message as JSON (pings and pongs skipped); 10 s at most.
pub async fn next_json(socket: &mut GraphqlSocket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("message");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("json"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Send a `subscribe` message.
pub async fn subscribe(socket: &mut GraphqlSocket, id: &str, query: &str, variables: Value) {
    let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("send subscribe");
}
