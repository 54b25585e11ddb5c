//! The HTTP half of the SDK: [`Client`], one typed method per endpoint, and
//! token refresh.
//!
//! Over 600 lines on purpose: one short method per endpoint, all sharing
//! the refresh-and-retry wrapper; split it by area when the API grows
//! (groups, media, search).

use crate::error::{Error, chain};
use crate::live::{ConnectOptions, Live};
use natter_proto::{
    AddMembers, AuthSession, AvatarInfo, BanInfo, BanList, BlockInfo, BlockList, ClientId,
    ConversationId, ConversationInfo, ConversationList, ConversationQuery, CreateConversation,
    CreateInvite, Credentials, Cursor, Departure, DeviceId, EditHistory, EditMessage, Event,
    Health, HistoryPage, HistoryQuery, InviteInfo, InviteList, InvitePreview, MarkReceipt, Me,
    MediaPage, MediaQuery, MemberInfo, MemberList, MemberQuery, MemberReceipt, MessageId,
    MessageViews, MuteMember, PersonalChange, PinList, Presence, PresenceList, Privacy,
    ReactionList, ReactionState, ReactorList, ReceiptKind, ReceiptSummary, RefreshRequest,
    ReportInfo, ReportList, ReportMessage, ResolveReport, Role, SearchPage, SearchQuery,
    SendMessage, Sent, Seq, ServerLimits, SessionInfo, SessionList, SetAvatar, SetRole, SetTyping,
    SettingsChange, Suspension, SyncPage, ThreadPage, ThreadRead, TransferOwnership, UpdateGroup,
    UpdateProfile, UpdateSettings, UserId, UserInfo, UserList,
};
use reqwest::{Method, Url, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long to wait for a TCP connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an ordinary request may take, end to end.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Slack added to a long-poll's `wait` before the request counts as hung.
const LONG_POLL_SLACK: Duration = Duration::from_secs(15);

/// A handle on one natter server, optionally logged in as one device
/// session.
///
/// Cheap to clone: clones share the HTTP connection pool and the session, so
/// a token refreshed through one clone is used by all of them (and by the
/// live connection). Every call that needs authentication refreshes an
/// expired access token once and retries; a revoked session surfaces as
/// [`Error::SessionGone`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// `http(s)://host:port[/prefix]`, without a trailing slash.
    base: String,
    /// Connection pool shared by every request.
    http: reqwest::Client,
    /// The current device session. A watch channel rather than a mutex so
    /// that callers can persist tokens whenever a refresh rotates them.
    session: watch::Sender<Option<AuthSession>>,
    /// Serializes refreshes: refresh tokens are single-use, and two
    /// concurrent refreshes with the same token would revoke the session.
    refresh_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print tokens.
        let session = self.inner.session.borrow();
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("user", &session.as_ref().map(|s| &s.username))
            .finish()
    }
}

impl Client {
    /// A client for the server at `base_url` (`http://host:port`), not
    /// logged in yet.
    pub fn new(base_url: &str) -> Result<Client, Error> {
        Client::build(base_url, None)
    }

    /// A client that resumes a saved device session.
    pub fn with_session(base_url: &str, session: AuthSession) -> Result<Client, Error> {
        Client::build(base_url, Some(session))
    }

    /// `POST /v1/auth/register`: creates an account, logs it in as a new
    /// device session, and returns a client holding that session.
    pub async fn register(
        base_url: &str,
        username: &str,
        password: &str,
        device_name: Option<&str>,
    ) -> Result<Client, Error> {
        let client = Client::new(base_url)?;
        client
            .authenticate("/v1/auth/register", username, password, device_name)
            .await?;
        Ok(client)
    }

    /// `POST /v1/auth/login`: logs in as a new device session and returns a
    /// client holding it.
    pub async fn login(
        base_url: &str,
        username: &str,
        password: &str,
        device_name: Option<&str>,
    ) -> Result<Client, Error> {
        let client = Client::new(base_url)?;
        client
            .authenticate("/v1/auth/login", username, password, device_name)
            .await?;
        Ok(client)
    }

    fn build(base_url: &str, session: Option<AuthSession>) -> Result<Client, Error> {
        let base = normalize_base(base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| Error::Transport(chain(&e)))?;
        let (session, _) = watch::channel(session);
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                http,
                session,
                refresh_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The server's base URL, normalized (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The WebSocket URL of the live endpoint (`ws://…/v1/ws`).
    pub fn ws_url(&self) -> String {
        ws_url(&self.inner.base)
    }

    /// A copy of the current device session, with the newest tokens; `None`
    /// before login. Persist it after calls if you want to resume later:
    /// refresh tokens are single-use, so an old copy stops working once the
    /// SDK has refreshed.
    pub fn session(&self) -> Option<AuthSession> {
        self.inner.session.borrow().clone()
    }

    /// A receiver that sees every change of the session (login, refresh),
    /// so an application can persist rotated tokens as soon as they change.
    pub fn watch_session(&self) -> watch::Receiver<Option<AuthSession>> {
        self.inner.session.subscribe()
    }

    /// The logged-in user's id.
    pub fn user_id(&self) -> Option<UserId> {
        self.inner.session.borrow().as_ref().map(|s| s.user)
    }

    /// The HTTP client this one sends with.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The current access token, for callers that talk to the server
    /// directly (SSE, raw WebSocket).
    pub fn access_token(&self) -> Option<String> {
        self.inner
            .session
            .borrow()
            .as_ref()
            .map(|s| s.access_token.clone())
    }

    // ---- auth ----

    async fn authenticate(
        &self,
        path: &str,
        username: &str,
        password: &str,
        device_name: Option<&str>,
    ) -> Result<AuthSession, Error> {
        let creds = Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
            device_name: device_name.map(str::to_owned),
        };
        let session: AuthSession = self
            .call(Method::POST, self.url(path, &[])?, Some(&creds), Auth::None)
            .await?;
        self.inner.session.send_replace(Some(session.clone()));
        Ok(session)
    }

    /// `POST /v1/auth/refresh`: trades the refresh token for new tokens now,
    /// whether or not the access token has expired. Ordinary calls refresh
    /// on their own when they need to.
    pub async fn refresh(&self) -> Result<AuthSession, Error> {
        let _guard = self.inner.refresh_lock.lock().await;
        self.refresh_locked().await
    }

    /// Refreshes unless another task already did since `failed_token` was
    /// rejected, in which case the newer token is simply used.
    pub(crate) async fn refresh_after(&self, failed_token: &str) -> Result<(), Error> {
        let _guard = self.inner.refresh_lock.lock().await;
        if self.access_token().as_deref() != Some(failed_token) {
            return Ok(());
        }
        self.refresh_locked().await.map(|_| ())
    }

    async fn refresh_locked(&self) -> Result<AuthSession, Error> {
        let refresh_token = self
            .inner
            .session
            .borrow()
            .as_ref()
            .map(|s| s.refresh_token.clone())
            .ok_or(Error::NotLoggedIn)?;
        let body = encode(&RefreshRequest { refresh_token })?;
        let url = self.url("/v1/auth/refresh", &[])?;
        // Straight to `send_once`: going through `call` would make the
        // refresh path (type-)recursive with `send_authed`.
        let answer = self
            .send_once(Method::POST, url, Some(body), None, REQUEST_TIMEOUT)
            .await
            .and_then(|bytes| decode::<AuthSession>(&bytes));
        match answer {
            Ok(session) => {
                self.inner.session.send_replace(Some(session.clone()));
                Ok(session)
            }
            // Any 401 on refresh (reused, revoked, expired or unknown
            // refresh token) means this device session cannot continue.
            Err(Error::Api { status: 401, .. }) => Err(Error::SessionGone),
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/auth/logout`: revokes this device session. The client keeps
    /// the (now useless) session; drop it.
    pub async fn logout(&self) -> Result<(), Error> {
        self.call_empty(Method::POST, "/v1/auth/logout").await
    }

    // ---- account ----

    /// `GET /v1/me`: who this session is, and the head of its log.
    pub async fn me(&self) -> Result<Me, Error> {
        self.get("/v1/me", &[]).await
    }

    /// `PATCH /v1/me/profile`: sets my display name and/or "about" text
    /// (an empty string removes one); answers `me`.
    pub async fn update_profile(&self, update: &UpdateProfile) -> Result<Me, Error> {
        let url = self.url("/v1/me/profile", &[])?;
        self.call(Method::PATCH, url, Some(update), Auth::Bearer)
            .await
    }

    /// `GET /v1/users/search?q=`: discoverable users whose username or
    /// display name starts with `prefix`, by username (at most `limit`,
    /// 1 to 50; 20 by default).
    pub async fn search_users(
        &self,
        prefix: &str,
        limit: Option<u32>,
    ) -> Result<Vec<UserInfo>, Error> {
        let mut q = vec![("q", prefix.to_owned())];
        if let Some(limit) = limit {
            q.push(("limit", limit.to_string()));
        }
        let list: UserList = self.get("/v1/users/search", &q).await?;
        Ok(list.users)
    }

    /// `GET /v1/sessions`: this account's live device sessions, newest
    /// first.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, Error> {
        let list: SessionList = self.get("/v1/sessions", &[]).await?;
        Ok(list.sessions)
    }

    /// `DELETE /v1/sessions/{device_id}`: revokes one of this account's
    /// device sessions.
    pub async fn revoke_session(&self, device: DeviceId) -> Result<(), Error> {
        self.call_empty(Method::DELETE, &format!("/v1/sessions/{device}"))
            .await
    }

    /// `GET /v1/users/{id}`.
    pub async fn user(&self, id: UserId) -> Result<UserInfo, Error> {
        self.get(&format!("/v1/users/{id}"), &[]).await
    }

    /// `GET /v1/users?username=NAME`: looks a user up by username
    /// (`not_found` if there is none).
    pub async fn user_by_name(&self, username: &str) -> Result<UserInfo, Error> {
        self.get("/v1/users", &[("username", username.to_owned())])
            .await
    }

    // ---- conversations ----

    /// `GET /v1/conversations`, every page: my conversations, newest
    /// activity first.
    pub async fn conversations(&self) -> Result<Vec<ConversationInfo>, Error> {
        Ok(self.conversation_list().await?.conversations)
    }

    /// `GET /v1/conversations`, whole: my conversations (every page, read
    /// in pages of the largest size) and the total unread count over all
    /// of them (the badge).
    pub async fn conversation_list(&self) -> Result<ConversationList, Error> {
        let mut query = ConversationQuery {
            limit: Some(500),
            ..ConversationQuery::default()
        };
        let mut whole = self.conversation_page(&query).await?;
        while let Some(next) = whole.next.take() {
            query.before = Some(next);
            let mut page = self.conversation_page(&query).await?;
            whole.conversations.append(&mut page.conversations);
            whole.unread_total = page.unread_total;
            whole.next = page.next;
        }
        Ok(whole)
    }

    /// `GET /v1/conversations?limit=&before=&request=`: one page of my
    /// conversations; its `next` asks for the page after it.
    pub async fn conversation_page(
        &self,
        query: &ConversationQuery,
    ) -> Result<ConversationList, Error> {
        let mut q = Vec::new();
        if let Some(limit) = query.limit {
            q.push(("limit", limit.to_string()));
        }
        if let Some(before) = &query.before {
            q.push(("before", before.clone()));
        }
        if let Some(request) = query.request {
            q.push(("request", request.to_string()));
        }
        if let Some(archived) = query.archived {
            q.push(("archived", archived.to_string()));
        }
        if let Some(pinned) = query.pinned {
            q.push(("pinned", pinned.to_string()));
        }
        self.get("/v1/conversations", &q).await
    }

    /// `POST /v1/conversations/{id}/leave`: leaves a group; answers the
    /// `member_left` event. Accepting an invitation is [`Client::accept`];
    /// leaving declines it.
    pub async fn leave(&self, id: ConversationId) -> Result<Departure, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/leave"), &[])?;
        self.call::<(), _>(Method::POST, url, None, Auth::Bearer)
            .await
    }

    /// `POST /v1/conversations`: creates a conversation (for a direct one
    /// that exists, returns it).
    pub async fn create_conversation(
        &self,
        req: &CreateConversation,
    ) -> Result<ConversationInfo, Error> {
        let url = self.url("/v1/conversations", &[])?;
        self.call(Method::POST, url, Some(req), Auth::Bearer).await
    }

    /// The direct conversation with `user`, created if needed.
    pub async fn direct(&self, user: UserId) -> Result<ConversationInfo, Error> {
        self.create_conversation(&CreateConversation::Direct { user })
            .await
    }

    /// Creates a group named `name` with me and `members` in it.
    pub async fn create_group(
        &self,
        name: &str,
        members: &[UserId],
    ) -> Result<ConversationInfo, Error> {
        self.create_conversation(&CreateConversation::Group {
            name: name.to_owned(),
            members: members.to_vec(),
        })
        .await
    }

    /// `POST /v1/conversations` with kind `channel`: a new broadcast
    /// channel of which I am the owner.
    pub async fn create_channel(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<ConversationInfo, Error> {
        self.create_conversation(&CreateConversation::Channel {
            name: name.to_owned(),
            description: description.map(str::to_owned),
        })
        .await
    }

    /// `DELETE /v1/conversations/{id}/messages/{seq}`: deletes a message for
    /// everyone (mine within the server's window, or anyone's as a
    /// moderator); answers the `message_deleted` event.
    pub async fn delete_message(&self, conv: ConversationId, seq: Seq) -> Result<Event, Error> {
        let url = self.url(&format!("/v1/conversations/{conv}/messages/{seq}"), &[])?;
        self.call::<(), _>(Method::DELETE, url, None, Auth::Bearer)
            .await
    }

    /// `PATCH /v1/conversations/{id}/messages/{seq}`: edits my message
    /// (within the server's edit window). Answers the message as it now is.
    pub async fn edit_message(
        &self,
        conv: ConversationId,
        seq: Seq,
        edit: &EditMessage,
    ) -> Result<Event, Error> {
        let url = self.url(&format!("/v1/conversations/{conv}/messages/{seq}"), &[])?;
        self.call(Method::PATCH, url, Some(edit), Auth::Bearer)
            .await
    }

    /// `GET /v1/conversations/{id}/messages/{seq}`: one event as history
    /// shows it (with reactions, thread summary and pin).
    pub async fn message(&self, conv: ConversationId, seq: Seq) -> Result<Event, Error> {
        self.get(&format!("/v1/conversations/{conv}/messages/{seq}"), &[])
            .await
    }

    /// `GET /v1/conversations/{id}/messages/{seq}/edits`: every version of
    /// a message's text, the original first.
    pub async fn message_edits(
        &self,
        conv: ConversationId,
        seq: Seq,
    ) -> Result<EditHistory, Error> {
        self.get(
            &format!("/v1/conversations/{conv}/messages/{seq}/edits"),
            &[],
        )
        .await
    }

    /// `POST /v1/conversations/{id}/messages/{seq}/hide`: deletes a message
    /// for me alone; my other devices get it as [`crate::LiveEvent::Personal`].
    pub async fn hide_message(
        &self,
        conv: ConversationId,
        seq: Seq,
    ) -> Result<PersonalChange, Error> {
        let url = self.url(
            &format!("/v1/conversations/{conv}/messages/{seq}/hide"),
            &[],
        )?;
        self.call::<(), _>(Method::POST, url, None, Auth::Bearer)
            .await
    }

    /// `PUT` (add) or `DELETE` (take back) my reaction `emoji` to a message.
    pub async fn react(
        &self,
        conv: ConversationId,
        seq: Seq,
        emoji: &str,
        add: bool,
    ) -> Result<ReactionState, Error> {
        let url = self.url(
            &format!(
                "/v1/conversations/{conv}/messages/{seq}/reactions/{}",
                path_segment(emoji)
            ),
            &[],
        )?;
        let method = if add { Method::PUT } else { Method::DELETE };
        self.call::<(), _>(method, url, None, Auth::Bearer).await
    }

    /// `GET /v1/conversations/{id}/messages/{seq}/reactions`.
    pub async fn reactions(&self, conv: ConversationId, seq: Seq) -> Result<ReactionList, Error> {
        self.get(
            &format!("/v1/conversations/{conv}/messages/{seq}/reactions"),
            &[],
        )
        .await
    }

    /// `GET /v1/conversations/{id}/messages/{seq}/reactions/{emoji}`: who
    /// reacted with `emoji`, a page after `after`.
    pub async fn reactors(
        &self,
        conv: ConversationId,
        seq: Seq,
        emoji: &str,
        after: Option<UserId>,
        limit: Option<u32>,
    ) -> Result<ReactorList, Error> {
        let mut q = Vec::new();
        if let Some(a) = after {
            q.push(("after", a.to_string()));
        }
        if let Some(l) = limit {
            q.push(("limit", l.to_string()));
        }
        self.get(
            &format!(
                "/v1/conversations/{conv}/messages/{seq}/reactions/{}",
                path_segment(emoji)
            ),
            &q,
        )
        .await
    }

    /// `PUT` (pin) or `DELETE` (unpin) `/v1/conversations/{id}/pins/{seq}`:
    /// the event, or `None` when it already was (or was not) pinned.
    pub async fn pin(
        &self,
        conv: ConversationId,
        seq: Seq,
        pin: bool,
    ) -> Result<Option<Event>, Error> {
        let url = self.url(&format!("/v1/conversations/{conv}/pins/{seq}"), &[])?;
        let method = if pin { Method::PUT } else { Method::DELETE };
        let bytes = self.send_authed(method, url, None, REQUEST_TIMEOUT).await?;
        if bytes.is_empty() {
            return Ok(None);
        }
        decode(&bytes).map(Some)
    }

    /// `GET /v1/conversations/{id}/pins`.
    pub async fn pins(&self, conv: ConversationId) -> Result<PinList, Error> {
        self.get(&format!("/v1/conversations/{conv}/pins"), &[])
            .await
    }

    /// `GET /v1/search`: messages I may read that contain the words.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchPage, Error> {
        let mut q = vec![("q", query.q.clone())];
        if let Some(c) = query.conv {
            q.push(("conv", c.to_string()));
        }
        if let Some(u) = query.from {
            q.push(("from", u.to_string()));
        }
        if let Some(t) = query.after {
            q.push(("after", t.to_string()));
        }
        if let Some(t) = query.before {
            q.push(("before", t.to_string()));
        }
        if let Some(h) = &query.has {
            q.push(("has", h.clone()));
        }
        if query.mentions_me {
            q.push(("mentions_me", "true".into()));
        }
        if query.in_thread {
            q.push(("in_thread", "true".into()));
        }
        if let Some(l) = query.limit {
            q.push(("limit", l.to_string()));
        }
        if let Some(c) = &query.cursor {
            q.push(("cursor", c.clone()));
        }
        self.get("/v1/search", &q).await
    }

    /// `PUT /v1/me/avatar`: one of my complete image uploads becomes my
    /// avatar (the server crops its centred square).
    pub async fn set_avatar(&self, upload: natter_proto::UploadId) -> Result<AvatarInfo, Error> {
        let url = self.url("/v1/me/avatar", &[])?;
        self.call(Method::PUT, url, Some(&SetAvatar { upload }), Auth::Bearer)
            .await
    }

    /// `DELETE /v1/me/avatar`.
    pub async fn remove_avatar(&self) -> Result<(), Error> {
        self.call_empty(Method::DELETE, "/v1/me/avatar").await
    }

    /// `PUT /v1/conversations/{id}/avatar`: a group's avatar (for those
    /// who may rename it).
    pub async fn set_group_avatar(
        &self,
        conv: ConversationId,
        upload: natter_proto::UploadId,
    ) -> Result<AvatarInfo, Error> {
        let url = self.url(&format!("/v1/conversations/{conv}/avatar"), &[])?;
        self.call(Method::PUT, url, Some(&SetAvatar { upload }), Auth::Bearer)
            .await
    }

    /// `DELETE /v1/conversations/{id}/avatar`.
    pub async fn remove_group_avatar(&self, conv: ConversationId) -> Result<(), Error> {
        self.call_empty(Method::DELETE, &format!("/v1/conversations/{conv}/avatar"))
            .await
    }

    /// `GET /v1/conversations/{id}/media`: a page of the conversation's
    /// attachments, newest first.
    pub async fn media(
        &self,
        conv: ConversationId,
        query: &MediaQuery,
    ) -> Result<MediaPage, Error> {
        let mut q = Vec::new();
        if let Some(k) = query.kind {
            q.push(("kind", k.as_str().to_owned()));
        }
        if let Some(b) = query.before {
            q.push(("before", b.to_string()));
        }
        if let Some(l) = query.limit {
            q.push(("limit", l.to_string()));
        }
        self.get(&format!("/v1/conversations/{conv}/media"), &q)
            .await
    }

    /// `GET /v1/conversations/{id}/threads/{root}`: the root and a page of
    /// its replies after `after`.
    pub async fn thread(
        &self,
        conv: ConversationId,
        root: Seq,
        after: Option<Seq>,
        limit: Option<u32>,
    ) -> Result<ThreadPage, Error> {
        let mut q = Vec::new();
        if let Some(a) = after {
            q.push(("after", a.to_string()));
        }
        if let Some(l) = limit {
            q.push(("limit", l.to_string()));
        }
        self.get(&format!("/v1/conversations/{conv}/threads/{root}"), &q)
            .await
    }

    /// `PUT /v1/conversations/{id}/threads/{root}/read`: marks the thread
    /// read up to `seq`.
    pub async fn read_thread(
        &self,
        conv: ConversationId,
        root: Seq,
        seq: Seq,
    ) -> Result<PersonalChange, Error> {
        let url = self.url(
            &format!("/v1/conversations/{conv}/threads/{root}/read"),
            &[],
        )?;
        self.call(Method::PUT, url, Some(&ThreadRead { seq }), Auth::Bearer)
            .await
    }

    /// `PUT /v1/conversations/{id}/settings`: changes my own settings for
    /// a conversation (mute, archive, pin, unread mark); my other devices
    /// get the result as [`crate::LiveEvent::Settings`].
    pub async fn set_settings(
        &self,
        conv: ConversationId,
        change: &UpdateSettings,
    ) -> Result<SettingsChange, Error> {
        let url = self.url(&format!("/v1/conversations/{conv}/settings"), &[])?;
        self.call(Method::PUT, url, Some(change), Auth::Bearer)
            .await
    }

    /// `GET /v1/conversations/{id}/views?from=&to=`: how many members have
    /// read each message of the range (at most 500 seqs).
    pub async fn views(
        &self,
        conv: ConversationId,
        from: Seq,
        to: Seq,
    ) -> Result<MessageViews, Error> {
        self.get(
            &format!("/v1/conversations/{conv}/views"),
            &[("from", from.to_string()), ("to", to.to_string())],
        )
        .await
    }

    /// `GET /v1/conversations/{id}`.
    pub async fn conversation(&self, id: ConversationId) -> Result<ConversationInfo, Error> {
        self.get(&format!("/v1/conversations/{id}"), &[]).await
    }

    /// `PATCH /v1/conversations/{id}`: changes a group's name, description
    /// or history setting; answers the group.
    pub async fn update_group(
        &self,
        id: ConversationId,
        update: &UpdateGroup,
    ) -> Result<ConversationInfo, Error> {
        let url = self.url(&format!("/v1/conversations/{id}"), &[])?;
        self.call(Method::PATCH, url, Some(update), Auth::Bearer)
            .await
    }

    /// `GET /v1/conversations/{id}/members`, every page: members in join
    /// order, with their roles.
    pub async fn members(&self, id: ConversationId) -> Result<Vec<MemberInfo>, Error> {
        let mut query = MemberQuery::default();
        let mut all = Vec::new();
        loop {
            let mut page = self.member_page(id, &query).await?;
            all.append(&mut page.members);
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// `GET /v1/conversations/{id}/members?limit=&after=`: one page of the
    /// members; its `next` asks for the page after it.
    pub async fn member_page(
        &self,
        id: ConversationId,
        query: &MemberQuery,
    ) -> Result<MemberList, Error> {
        let mut q = Vec::new();
        if let Some(limit) = query.limit {
            q.push(("limit", limit.to_string()));
        }
        if let Some(after) = &query.after {
            q.push(("after", after.clone()));
        }
        self.get(&format!("/v1/conversations/{id}/members"), &q)
            .await
    }

    /// `DELETE /v1/conversations/{id}/members/{user}`: removes a member;
    /// answers the `member_removed` event.
    pub async fn remove_member(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Departure, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/members/{user}"), &[])?;
        self.call::<(), _>(Method::DELETE, url, None, Auth::Bearer)
            .await
    }

    /// `PUT /v1/conversations/{id}/members/{user}/role`: gives a member a
    /// role; answers the `role_changed` event.
    pub async fn set_role(
        &self,
        id: ConversationId,
        user: UserId,
        role: Role,
    ) -> Result<Event, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/members/{user}/role"), &[])?;
        self.call(Method::PUT, url, Some(&SetRole { role }), Auth::Bearer)
            .await
    }

    /// `PUT /v1/conversations/{id}/members/{user}/mute`: mutes a member for
    /// `secs` seconds; answers the `member_muted` event.
    pub async fn mute(&self, id: ConversationId, user: UserId, secs: u64) -> Result<Event, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/members/{user}/mute"), &[])?;
        self.call(Method::PUT, url, Some(&MuteMember { secs }), Auth::Bearer)
            .await
    }

    /// `DELETE /v1/conversations/{id}/members/{user}/mute`: lifts a mute;
    /// answers the `member_unmuted` event.
    pub async fn unmute(&self, id: ConversationId, user: UserId) -> Result<Event, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/members/{user}/mute"), &[])?;
        self.call::<(), _>(Method::DELETE, url, None, Auth::Bearer)
            .await
    }

    /// `POST /v1/conversations/{id}/owner`: hands the group to another
    /// member; answers the `ownership_transferred` event.
    pub async fn transfer_ownership(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Event, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/owner"), &[])?;
        self.call(
            Method::POST,
            url,
            Some(&TransferOwnership { user }),
            Auth::Bearer,
        )
        .await
    }

    /// `PUT /v1/conversations/{id}/bans/{user}`: bans a user (removing them
    /// if a member); answers the ban.
    pub async fn ban(&self, id: ConversationId, user: UserId) -> Result<BanInfo, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/bans/{user}"), &[])?;
        self.call::<(), _>(Method::PUT, url, None, Auth::Bearer)
            .await
    }

    /// `DELETE /v1/conversations/{id}/bans/{user}`: lifts a ban (none is
    /// not an error).
    pub async fn unban(&self, id: ConversationId, user: UserId) -> Result<(), Error> {
        self.call_empty(
            Method::DELETE,
            &format!("/v1/conversations/{id}/bans/{user}"),
        )
        .await
    }

    /// `POST /v1/conversations/{id}/invites`: makes an invite link.
    pub async fn create_invite(
        &self,
        id: ConversationId,
        req: &CreateInvite,
    ) -> Result<InviteInfo, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/invites"), &[])?;
        self.call(Method::POST, url, Some(req), Auth::Bearer).await
    }

    /// `GET /v1/conversations/{id}/invites`: the group's links, newest
    /// first.
    pub async fn invites(&self, id: ConversationId) -> Result<Vec<InviteInfo>, Error> {
        let list: InviteList = self
            .get(&format!("/v1/conversations/{id}/invites"), &[])
            .await?;
        Ok(list.invites)
    }

    /// `DELETE /v1/conversations/{id}/invites/{token}`: revokes a link.
    pub async fn revoke_invite(&self, id: ConversationId, token: &str) -> Result<(), Error> {
        let url = self.segments_url(&["v1", "conversations", &id.to_string(), "invites", token])?;
        self.send_authed(Method::DELETE, url, None, REQUEST_TIMEOUT)
            .await
            .map(|_| ())
    }

    /// `GET /v1/invites/{token}`: what a link leads to, without joining.
    pub async fn invite_preview(&self, token: &str) -> Result<InvitePreview, Error> {
        let url = self.segments_url(&["v1", "invites", token])?;
        self.call::<(), _>(Method::GET, url, None, Auth::Bearer)
            .await
    }

    /// `POST /v1/invites/{token}/join`: joins the group a link leads to.
    pub async fn join_invite(&self, token: &str) -> Result<ConversationInfo, Error> {
        let url = self.segments_url(&["v1", "invites", token, "join"])?;
        self.call::<(), _>(Method::POST, url, None, Auth::Bearer)
            .await
    }

    /// A URL from path segments, each percent-encoded (a token someone
    /// pasted may hold anything).
    fn segments_url(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.url("/", &[])?;
        url.path_segments_mut()
            .map_err(|_| Error::InvalidUrl("the server URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// `PUT /v1/admin/suspensions/{user}`: suspends an account (server
    /// admins only).
    pub async fn suspend(&self, user: UserId) -> Result<Suspension, Error> {
        let url = self.url(&format!("/v1/admin/suspensions/{user}"), &[])?;
        self.call::<(), _>(Method::PUT, url, None, Auth::Bearer)
            .await
    }

    /// `DELETE /v1/admin/suspensions/{user}`: lifts a suspension.
    pub async fn unsuspend(&self, user: UserId) -> Result<(), Error> {
        self.call_empty(Method::DELETE, &format!("/v1/admin/suspensions/{user}"))
            .await
    }

    /// `POST /v1/conversations/{id}/reports`: reports a message.
    pub async fn report(
        &self,
        id: ConversationId,
        req: &ReportMessage,
    ) -> Result<ReportInfo, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/reports"), &[])?;
        self.call(Method::POST, url, Some(req), Auth::Bearer).await
    }

    /// `GET /v1/conversations/{id}/reports` (a group's, for moderators) or,
    /// without a conversation, `GET /v1/admin/reports` (every report, for
    /// server admins). Open ones only unless `all`.
    pub async fn reports(
        &self,
        id: Option<ConversationId>,
        all: bool,
    ) -> Result<Vec<ReportInfo>, Error> {
        let path = match id {
            Some(id) => format!("/v1/conversations/{id}/reports"),
            None => "/v1/admin/reports".to_owned(),
        };
        let q = if all {
            vec![("all", "true".to_owned())]
        } else {
            Vec::new()
        };
        let list: ReportList = self.get(&path, &q).await?;
        Ok(list.reports)
    }

    /// `POST /v1/reports/{id}/resolve`: resolves a report.
    pub async fn resolve_report(
        &self,
        id: MessageId,
        note: Option<String>,
    ) -> Result<ReportInfo, Error> {
        let url = self.url(&format!("/v1/reports/{id}/resolve"), &[])?;
        self.call(
            Method::POST,
            url,
            Some(&ResolveReport { note }),
            Auth::Bearer,
        )
        .await
    }

    /// `GET /v1/conversations/{id}/bans`: who is banned, most recent first.
    pub async fn bans(&self, id: ConversationId) -> Result<Vec<BanInfo>, Error> {
        let list: BanList = self
            .get(&format!("/v1/conversations/{id}/bans"), &[])
            .await?;
        Ok(list.bans)
    }

    /// `POST /v1/conversations/{id}/members`: adds users to a group.
    pub async fn add_members(
        &self,
        id: ConversationId,
        users: &[UserId],
    ) -> Result<ConversationInfo, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/members"), &[])?;
        let body = AddMembers {
            users: users.to_vec(),
        };
        self.call(Method::POST, url, Some(&body), Auth::Bearer)
            .await
    }

    /// `POST /v1/conversations/{id}/accept`: accepts a message request (a
    /// direct conversation someone else started). Sending in it accepts it
    /// too. Changes nothing for anything else.
    pub async fn accept(&self, id: ConversationId) -> Result<ConversationInfo, Error> {
        let url = self.url(&format!("/v1/conversations/{id}/accept"), &[])?;
        self.call::<(), _>(Method::POST, url, None, Auth::Bearer)
            .await
    }

    // ---- blocks ----

    /// `PUT /v1/blocks/{user}`: blocks a user (again: the same block).
    pub async fn block(&self, user: UserId) -> Result<BlockInfo, Error> {
        let url = self.url(&format!("/v1/blocks/{user}"), &[])?;
        self.call::<(), _>(Method::PUT, url, None, Auth::Bearer)
            .await
    }

    /// `DELETE /v1/blocks/{user}`: lifts a block (none is not an error).
    pub async fn unblock(&self, user: UserId) -> Result<(), Error> {
        self.call_empty(Method::DELETE, &format!("/v1/blocks/{user}"))
            .await
    }

    /// `GET /v1/blocks`: the users I have blocked, most recent first.
    pub async fn blocks(&self) -> Result<Vec<BlockInfo>, Error> {
        let list: BlockList = self.get("/v1/blocks", &[]).await?;
        Ok(list.blocks)
    }

    /// `POST /v1/conversations/{id}/messages`: sends a text message. Retrying
    /// with the same `client_id` after an error never stores a second copy:
    /// the answer then has `duplicate: true`.
    pub async fn send_message(
        &self,
        conv: ConversationId,
        client_id: &ClientId,
        text: &str,
    ) -> Result<Sent, Error> {
        self.send(conv, &SendMessage::text(client_id.clone(), text))
            .await
    }

    /// `POST /v1/conversations/{id}/messages` with every option: a reply,
    /// a thread reply, mentions, a forward. Retries with the same
    /// `client_id` are answered with `duplicate: true`.
    pub async fn send(&self, conv: ConversationId, message: &SendMessage) -> Result<Sent, Error> {
        let url = self.url(&format!("/v1/conversations/{conv}/messages"), &[])?;
        self.call(Method::POST, url, Some(message), Auth::Bearer)
            .await
    }

    /// `GET /v1/conversations/{id}/events`: a page of history, ascending by
    /// seq. With neither `before` nor `after` it is the newest page.
    pub async fn history(
        &self,
        conv: ConversationId,
        query: &HistoryQuery,
    ) -> Result<HistoryPage, Error> {
        let mut q = Vec::new();
        if let Some(before) = query.before {
            q.push(("before", before.to_string()));
        }
        if let Some(after) = query.after {
            q.push(("after", after.to_string()));
        }
        if let Some(limit) = query.limit {
            q.push(("limit", limit.to_string()));
        }
        self.get(&format!("/v1/conversations/{conv}/events"), &q)
            .await
    }

    // ---- live signals ----

    /// `POST /v1/conversations/{id}/receipts`: marks every message up to
    /// `seq` read (which implies delivered). Watermarks only move forward,
    /// so a lower `seq` changes nothing; the answer is my watermarks after
    /// the call. A `seq` beyond the conversation's newest is `bad_request`.
    pub async fn mark_read(&self, conv: ConversationId, seq: Seq) -> Result<MemberReceipt, Error> {
        self.mark(conv, ReceiptKind::Read, seq).await
    }

    /// `POST /v1/conversations/{id}/receipts`: marks every message up to
    /// `seq` delivered to this account. The live connection does this by
    /// itself (see [`ConnectOptions::with_auto_delivered`]).
    pub async fn mark_delivered(
        &self,
        conv: ConversationId,
        seq: Seq,
    ) -> Result<MemberReceipt, Error> {
        self.mark(conv, ReceiptKind::Delivered, seq).await
    }

    async fn mark(
        &self,
        conv: ConversationId,
        kind: ReceiptKind,
        seq: Seq,
    ) -> Result<MemberReceipt, Error> {
        let url = self.url(&format!("/v1/conversations/{conv}/receipts"), &[])?;
        let body = MarkReceipt { kind, seq };
        self.call(Method::POST, url, Some(&body), Auth::Bearer)
            .await
    }

    /// `GET /v1/conversations/{id}/receipts?seq=N`: how many of the other
    /// members have message `seq` delivered and read, and each one's
    /// watermarks.
    pub async fn receipts(&self, conv: ConversationId, seq: Seq) -> Result<ReceiptSummary, Error> {
        self.get(
            &format!("/v1/conversations/{conv}/receipts"),
            &[("seq", seq.to_string())],
        )
        .await
    }

    /// `POST /v1/conversations/{id}/typing`: starts (or refreshes) or stops
    /// my typing indicator. A started indicator expires by itself unless
    /// refreshed; sending a message stops it.
    pub async fn typing(&self, conv: ConversationId, active: bool) -> Result<(), Error> {
        let url = self.url(&format!("/v1/conversations/{conv}/typing"), &[])?;
        let body = encode(&SetTyping { active })?;
        self.send_authed(Method::POST, url, Some(body), REQUEST_TIMEOUT)
            .await
            .map(|_| ())
    }

    /// `GET /v1/me/privacy`: who sees my presence, and whether I share read
    /// receipts.
    pub async fn privacy(&self) -> Result<Privacy, Error> {
        self.get("/v1/me/privacy", &[]).await
    }

    /// `PUT /v1/me/privacy`: replaces my privacy settings (all three);
    /// answers the new ones.
    pub async fn set_privacy(&self, privacy: Privacy) -> Result<Privacy, Error> {
        let url = self.url("/v1/me/privacy", &[])?;
        self.call(Method::PUT, url, Some(&privacy), Auth::Bearer)
            .await
    }

    /// `GET /v1/presence`: whether each person I may see is online, and
    /// when they were last seen.
    pub async fn presence(&self) -> Result<Vec<Presence>, Error> {
        let list: PresenceList = self.get("/v1/presence", &[]).await?;
        Ok(list.users)
    }

    /// `GET /v1/sync`: the entries of my log after `cursor` (from the start
    /// when `None`), waiting up to `wait` seconds for something new when
    /// nothing is ready (long-polling).
    pub async fn sync(
        &self,
        cursor: Option<Cursor>,
        wait: Option<u64>,
        limit: Option<u32>,
    ) -> Result<SyncPage, Error> {
        let mut q = Vec::new();
        if let Some(cursor) = cursor {
            q.push(("cursor", cursor.to_string()));
        }
        if let Some(wait) = wait {
            q.push(("wait", wait.to_string()));
        }
        if let Some(limit) = limit {
            q.push(("limit", limit.to_string()));
        }
        let url = self.url("/v1/sync", &q)?;
        let timeout = REQUEST_TIMEOUT.max(Duration::from_secs(wait.unwrap_or(0)) + LONG_POLL_SLACK);
        self.call_with::<(), _>(Method::GET, url, None, Auth::Bearer, timeout)
            .await
    }

    /// `GET /v1/limits`: what the server accepts (message size, group size,
    /// username and password lengths, page sizes). Needs no session.
    pub async fn limits(&self) -> Result<ServerLimits, Error> {
        let url = self.url("/v1/limits", &[])?;
        self.call::<(), _>(Method::GET, url, None, Auth::None).await
    }

    /// `GET /healthz`: whether the server is up. Needs no session.
    pub async fn health(&self) -> Result<Health, Error> {
        let url = self.url("/healthz", &[])?;
        self.call::<(), _>(Method::GET, url, None, Auth::None).await
    }

    // ---- live ----

    /// Starts the live connection: a background task that keeps a
    /// WebSocket open (reconnecting with backoff), delivers events in order
    /// without duplicates, and sends the outbox. See [`Live`].
    ///
    /// Returns as soon as the task is started (after loading the state file,
    /// if any); connection progress arrives as [`crate::LiveEvent`]s.
    pub async fn connect(&self, options: ConnectOptions) -> Result<Live, Error> {
        if self.inner.session.borrow().is_none() {
            return Err(Error::NotLoggedIn);
        }
        Live::start(self.clone(), options).await
    }

    // ---- plumbing ----

    pub(crate) fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url, Error> {
        endpoint(&self.inner.base, path, query)
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let url = self.url(path, query)?;
        self.call::<(), T>(Method::GET, url, None, Auth::Bearer)
            .await
    }

    /// A call whose success has no body (204).
    async fn call_empty(&self, method: Method, path: &str) -> Result<(), Error> {
        let url = self.url(path, &[])?;
        self.send_authed(method, url, None, REQUEST_TIMEOUT)
            .await
            .map(|_| ())
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        auth: Auth,
    ) -> Result<T, Error> {
        self.call_with(method, url, body, auth, REQUEST_TIMEOUT)
            .await
    }

    async fn call_with<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        auth: Auth,
        timeout: Duration,
    ) -> Result<T, Error> {
        let body = body.map(encode).transpose()?;
        let bytes = match auth {
            Auth::None => self.send_once(method, url, body, None, timeout).await?,
            Auth::Bearer => self.send_authed(method, url, body, timeout).await?,
        };
        decode(&bytes)
    }

    /// Sends with the access token; on `token_expired` (or `token_invalid`,
    /// which a key rotation on the server produces) refreshes once and
    /// retries.
    async fn send_authed(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Vec<u8>, Error> {
        let token = self.access_token().ok_or(Error::NotLoggedIn)?;
        let first = self
            .send_once(
                method.clone(),
                url.clone(),
                body.clone(),
                Some(&token),
                timeout,
            )
            .await;
        match first {
            Err(Error::Api {
                code: natter_proto::ErrorCode::TokenExpired | natter_proto::ErrorCode::TokenInvalid,
                ..
            }) => {
                self.refresh_after(&token).await?;
                let token = self.access_token().ok_or(Error::NotLoggedIn)?;
                self.send_once(method, url, body, Some(&token), timeout)
                    .await
                    .map_err(Error::gone_if_revoked)
            }
            other => other.map_err(Error::gone_if_revoked),
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<Vec<u8>, Error> {
        let mut req = self.inner.http.request(method, url).timeout(timeout);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let resp = req.send().await.map_err(|e| Error::Transport(chain(&e)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Error::Transport(chain(&e)))?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            Err(Error::from_http(status.as_u16(), &bytes))
        }
    }
}

fn encode<B: Serialize>(body: &B) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body).map_err(|e| Error::Protocol(format!("cannot encode request: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Protocol(format!("cannot decode response: {e}")))
}

/// Whether a request carries the bearer token.
#[derive(Clone, Copy)]
enum Auth {
    None,
    Bearer,
}

/// Checks that `base` is an http(s) URL without query or fragment and strips
/// trailing slashes, so paths can be appended.
pub(crate) fn normalize_base(base: &str) -> Result<String, Error> {
    let url = Url::parse(base.trim()).map_err(|e| Error::InvalidUrl(format!("{base}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::InvalidUrl(format!(
            "{base}: the scheme must be http or https"
        )));
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(Error::InvalidUrl(format!(
            "{base}: expected http://host:port with an optional path"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The URL of `path` (starting with `/`) under `base`, with `query`
/// percent-encoded.
pub(crate) fn endpoint(base: &str, path: &str, query: &[(&str, String)]) -> Result<Url, Error> {
    let mut url =
        Url::parse(&format!("{base}{path}")).map_err(|e| Error::InvalidUrl(e.to_string()))?;
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
    }
    Ok(url)
}

/// The live endpoint of a normalized base URL: `http` becomes `ws`,
/// `https` becomes `wss`.
pub(crate) fn ws_url(base: &str) -> String {
    let rest = base
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
        .unwrap_or_else(|| base.to_owned());
    format!("{rest}/v1/ws")
}

/// An emoji (or any text) as one path segment, percent-encoded.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized() {
        assert_eq!(
            normalize_base("http://127.0.0.1:7878/").unwrap(),
            "http://127.0.0.1:7878"
        );
        assert_eq!(
            normalize_base("https://chat.example/natter//").unwrap(),
            "https://chat.example/natter"
        );
        assert!(normalize_base("ftp://x").is_err());
        assert!(normalize_base("127.0.0.1:7878").is_err());
        assert!(normalize_base("http://x/?a=b").is_err());
    }

    #[test]
    fn websocket_url_follows_the_scheme() {
        assert_eq!(ws_url("http://127.0.0.1:7878"), "ws://127.0.0.1:7878/v1/ws");
        assert_eq!(
            ws_url("https://chat.example/n"),
            "wss://chat.example/n/v1/ws"
        );
    }

    #[test]
    fn endpoints_encode_their_query() {
        let url = endpoint(
            "http://h:1",
            "/v1/users",
            &[("username", "a b&c".to_owned())],
        )
        .unwrap();
        assert_eq!(url.as_str(), "http://h:1/v1/users?username=a+b%26c");
        let url = endpoint("http://h:1/p", "/v1/sync", &[]).unwrap();
        assert_eq!(url.as_str(), "http://h:1/p/v1/sync");
    }

    #[test]
    fn debug_output_hides_tokens() {
        let session = AuthSession {
            user: UserId::new(),
            username: "alice".into(),
            device: DeviceId::new(),
            access_token: "SECRET-A".into(),
            access_expires_in: 900,
            refresh_token: "SECRET-R".into(),
        };
        let client = Client::with_session("http://h:1", session).unwrap();
        let shown = format!("{client:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("SECRET"));
    }
}
