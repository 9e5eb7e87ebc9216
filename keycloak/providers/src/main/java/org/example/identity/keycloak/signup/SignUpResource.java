package org.example.identity.keycloak.signup;

import java.net.URI;
import java.util.regex.Pattern;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.keycloak.authentication.AuthenticationProcessor;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.AuthorizationEndpointBase;
import org.keycloak.protocol.ClientData;
import org.keycloak.protocol.oidc.utils.RedirectUtils;
import org.keycloak.services.Urls;
import org.keycloak.services.managers.AuthenticationSessionManager;
import org.keycloak.services.resource.RealmResourceProvider;
import org.keycloak.services.resources.LoginActionsService;
import org.keycloak.services.util.AuthenticationFlowURLHelper;
import org.keycloak.services.util.ResolveRelative;
import org.keycloak.sessions.AuthenticationSessionModel;

/**
 * {@code /realms/{realm}/platform-sign-up/continue?ticket&client_id&tab_id&client_data} (issue 17 §3,
 * docs/decisions/0027): where the BFF's sign-up page sends the browser once the account exists. It
 * finds THIS browser's authentication session for the tab (the AUTH_SESSION_ID cookie, as
 * {@code login-actions/restart} does), restarts its flow, keeps the ticket in an auth note for
 * {@link SignUpTicketAuthenticator}, and sends the browser to the flow. It never redeems the ticket
 * itself and never says anything about it.
 *
 * <p>No session for the tab (it expired, or the link was opened in another browser): a page in the
 * login theme says the account is ready and offers "Sign in", back to the application (the redirect URI
 * of {@code client_data}, checked against the client's, else the client's base URL).
 */
final class SignUpResource implements RealmResourceProvider {

    /** The BFF's tickets are 32 random bytes in base64url; anything else is not worth a round trip. */
    private static final Pattern TICKET = Pattern.compile("^[A-Za-z0-9_-]{43}$");
    static final String READY_TEMPLATE = "platform-sign-up-ready.ftl";

    private final KeycloakSession session;

    SignUpResource(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public Object getResource() {
        return this;
    }

    @GET
    @Path("continue")
    @Produces(MediaType.TEXT_HTML)
    public Response continueSignedIn(@QueryParam("ticket") String ticket, @QueryParam("client_id") String clientId,
            @QueryParam("tab_id") String tabId, @QueryParam("client_data") String clientData) {
        RealmModel realm = session.getContext().getRealm();
        ClientModel client = clientId == null ? null : realm.getClientByClientId(clientId);
        if (client != null) session.getContext().setClient(client);
        AuthenticationSessionModel authSession = client == null || tabId == null || !client.isEnabled() ? null
                : new AuthenticationSessionManager(session).getCurrentAuthenticationSession(realm, client, tabId);
        if (authSession == null) return readyPage(realm, client, clientData);

        // As LoginActionsService.restartSession: the flow starts over (auth notes cleared), then the ticket
        // is the one note the first step finds.
        String flowPath = authSession.getClientNote(AuthorizationEndpointBase.APP_INITIATED_FLOW);
        if (flowPath == null) flowPath = LoginActionsService.AUTHENTICATE_PATH;
        AuthenticationProcessor.resetFlow(authSession, flowPath);
        if (ticket != null && TICKET.matcher(ticket).matches()) authSession.setAuthNote(SignUpTicketAuthenticator.TICKET_NOTE, ticket);
        URI next = new AuthenticationFlowURLHelper(session, realm, session.getContext().getUri()).getLastExecutionUrl(flowPath, null,
                client.getClientId(), authSession.getTabId(), AuthenticationProcessor.getClientData(session, authSession));
        return Response.status(Response.Status.FOUND).location(next).header("Cache-Control", "no-store").header("Referrer-Policy", "no-referrer").build();
    }

    private Response readyPage(RealmModel realm, ClientModel client, String clientData) {
        return session.getProvider(LoginFormsProvider.class)
                .setAttribute("platformSignInUrl", signInUrl(realm, client, clientData))
                .setResponseHeader("Referrer-Policy", "no-referrer")
                .createForm(READY_TEMPLATE);
    }

    /** Back to the application: client_data's redirect URI when the client allows it, else its base URL, else the account console. */
    private String signInUrl(RealmModel realm, ClientModel client, String clientData) {
        if (client != null && clientData != null) {
            try {
                ClientData data = ClientData.decodeClientDataFromParameter(clientData);
                String verified = data == null || data.getRedirectUri() == null ? null : RedirectUtils.verifyRedirectUri(session, data.getRedirectUri(), client);
                if (verified != null) return verified;
            } catch (Exception e) {
                // Not ours to judge: fall back to the client's base URL.
            }
        }
        if (client != null && client.getBaseUrl() != null && !client.getBaseUrl().isBlank()) {
            return ResolveRelative.resolveRelativeUri(session, client.getRootUrl(), client.getBaseUrl());
        }
        return Urls.accountBase(session.getContext().getUri().getBaseUri()).path("/").build(realm.getName()).toString();
    }

    @Override
    public void close() {
    }
}
