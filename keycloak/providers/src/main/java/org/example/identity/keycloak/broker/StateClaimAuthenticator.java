package org.example.identity.keycloak.broker;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import org.example.identity.keycloak.bff.BffClient;
import org.jboss.logging.Logger;
import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.authentication.AuthenticationFlowError;
import org.keycloak.authentication.Authenticator;
import org.keycloak.authentication.authenticators.broker.AbstractIdpAuthenticator;
import org.keycloak.authentication.authenticators.broker.util.SerializedBrokeredIdentityContext;
import org.keycloak.models.IdentityProviderModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.sessions.AuthenticationSessionModel;

/**
 * First login through a state IdP (SPEC Flow 2, seed 004; docs/decisions/0011-state-claim.md). Keycloak
 * keeps the brokering, the credentials and the session; the BFF runs the claim flow (its XState
 * machine, pages, OTP, password check, migration). This class only moves the browser:
 * <ol>
 *   <li>{@code authenticate}: tells the BFF who the state IdP says this is (server to server), gets a
 *       flow id and the BFF page to send the browser to, and redirects there. The way back (this
 *       step's action URL, with a one-time session code) is sent to the BFF too, never taken from the
 *       browser.</li>
 *   <li>{@code action}: the browser comes back with {@code handoff=<id>}. The BFF is asked to complete
 *       the flow with that handoff AND the identity Keycloak holds for this login session; the BFF
 *       refuses a handoff of another person, flow, or one that is used, expired or altered. It
 *       answers the account to sign in as, which Keycloak then links to the state identity.</li>
 * </ol>
 * When the BFF cannot answer (or the upstream core / Keycloak Admin API is down behind it), the person
 * gets the "try again" page, whose button posts back to {@code action} with the handoff kept in a note.
 */
final class StateClaimAuthenticator implements Authenticator {

    private static final Logger LOG = Logger.getLogger(StateClaimAuthenticator.class);

    static final String START_PATH = "/internal/v1/keycloak/state-claim";
    static final String FLOW_NOTE = "platform.stateClaim.flowId";
    static final String HANDOFF_NOTE = "platform.stateClaim.handoffId";

    private final BffClient bff;

    StateClaimAuthenticator(BffClient bff) {
        this.bff = bff;
    }

    @Override
    public void authenticate(AuthenticationFlowContext context) {
        SerializedBrokeredIdentityContext brokered = brokered(context);
        if (brokered == null) return;
        Map<String, Object> request = identity(context, brokered);
        // The way back: a GET of this action URL is an action request (SessionCodeChecks), so Keycloak
        // calls action() with the browser's query. The code in it is single-use.
        request.put("returnUrl", context.getActionUrl(context.generateAccessCode()).toString());
        // The language of this login (ui_locales, the locale cookie, the picker): the claim's pages keep it.
        request.put("locale", context.getSession().getContext().resolveLocale(null).toLanguageTag());
        BffClient.Answer answer;
        try {
            answer = bff.post(START_PATH, request);
        } catch (BffClient.UnavailableException e) {
            retry(context, brokered, e.getMessage());
            return;
        }
        String flowId = answer.body().path("flowId").asText("");
        String redirect = answer.body().path("redirectUrl").asText("");
        if (answer.status() != 201 || flowId.isEmpty() || redirect.isEmpty()) {
            refuse(context, brokered, answer);
            return;
        }
        context.getAuthenticationSession().setAuthNote(FLOW_NOTE, flowId);
        context.getAuthenticationSession().removeAuthNote(HANDOFF_NOTE);
        context.challenge(Response.status(Response.Status.FOUND).location(URI.create(redirect)).build());
    }

    @Override
    public void action(AuthenticationFlowContext context) {
        SerializedBrokeredIdentityContext brokered = brokered(context);
        if (brokered == null) return;
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        String flowId = authSession.getAuthNote(FLOW_NOTE);
        String fromBrowser = context.getHttpRequest().getUri().getQueryParameters().getFirst("handoff");
        if (fromBrowser != null && !fromBrowser.isBlank()) authSession.setAuthNote(HANDOFF_NOTE, fromBrowser);
        String handoff = authSession.getAuthNote(HANDOFF_NOTE);
        if (flowId == null || handoff == null) {
            // Not back from the BFF (e.g. a reload): start over with a new flow.
            authenticate(context);
            return;
        }
        Map<String, Object> request = identity(context, brokered);
        request.put("handoffId", handoff);
        BffClient.Answer answer;
        try {
            answer = bff.post(START_PATH + "/" + UriBuilder.fromPath("{id}").build(flowId).toString() + "/complete", request);
        } catch (BffClient.UnavailableException e) {
            retry(context, brokered, e.getMessage());
            return;
        }
        String userId = answer.body().path("userId").asText("");
        if (answer.status() != 200 || userId.isEmpty()) {
            refuse(context, brokered, answer);
            return;
        }
        UserModel user = context.getSession().users().getUserById(context.getRealm(), userId);
        if (user == null || !user.isEnabled()) {
            retry(context, brokered, "the account the BFF answered is missing or disabled");
            return;
        }
        authSession.removeAuthNote(HANDOFF_NOTE);
        context.getEvent().detail("platform_state_claim", answer.body().path("outcome").asText(""));
        context.setUser(user);
        context.success();
    }

    private SerializedBrokeredIdentityContext brokered(AuthenticationFlowContext context) {
        SerializedBrokeredIdentityContext brokered = SerializedBrokeredIdentityContext.readFromAuthenticationSession(
                context.getAuthenticationSession(), AbstractIdpAuthenticator.BROKERED_CONTEXT_NOTE);
        if (brokered == null) {
            LOG.error("platform-state-claim runs only in a first-broker-login flow");
            context.failure(AuthenticationFlowError.INTERNAL_ERROR);
        }
        return brokered;
    }

    /** Who the state IdP says this is, as Keycloak holds it for this login session (and which session). */
    private static Map<String, Object> identity(AuthenticationFlowContext context, SerializedBrokeredIdentityContext brokered) {
        Map<String, Object> request = new LinkedHashMap<>();
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        // Binds the flow to this login session (browser tab): the BFF keeps only a hash of it.
        request.put("loginSession", authSession.getParentSession().getId() + "." + authSession.getTabId());
        request.put("identityProvider", brokered.getIdentityProviderId());
        request.put("brokeredUserId", brokered.getId());
        request.put("brokeredUsername", brokered.getUsername());
        request.put("email", brokered.getEmail());
        request.put("firstName", brokered.getFirstName());
        request.put("lastName", brokered.getLastName());
        // Set by the provider's attribute mappers (identity-providers/state-demo.json) from the token's claims.
        request.put("phone", brokered.getFirstAttribute("phone"));
        request.put("stateUserId", brokered.getFirstAttribute("stateUserId"));
        return request;
    }

    private static void retry(AuthenticationFlowContext context, SerializedBrokeredIdentityContext brokered, String why) {
        LOG.warnf("platform-state-claim: %s; the person is offered a retry", why);
        context.getEvent().detail("platform_bff", "unavailable");
        context.challenge(context.form()
                .setAttribute("identityProviderName", displayName(context, brokered))
                .setError("platformBrokeredLoginUnavailable")
                .setStatus(Response.Status.SERVICE_UNAVAILABLE)
                .createForm(BffCheckAuthenticator.RETRY_TEMPLATE));
    }

    /** A refusal of the BFF (4xx, problem+json): an error page in our theme; the login ends. */
    private static void refuse(AuthenticationFlowContext context, SerializedBrokeredIdentityContext brokered, BffClient.Answer answer) {
        JsonNode code = answer.body().path("code");
        context.getEvent().detail("platform_refusal", code.asText("unknown"));
        context.getAuthenticationSession().removeAuthNote(HANDOFF_NOTE);
        context.failure(AuthenticationFlowError.ACCESS_DENIED,
                context.form().setError("platformStateClaimRefused", displayName(context, brokered)).createErrorPage(Response.Status.FORBIDDEN));
    }

    private static String displayName(AuthenticationFlowContext context, SerializedBrokeredIdentityContext brokered) {
        IdentityProviderModel idp = context.getSession().identityProviders().getByAlias(brokered.getIdentityProviderId());
        return idp != null && idp.getDisplayName() != null && !idp.getDisplayName().isBlank() ? idp.getDisplayName() : brokered.getIdentityProviderId();
    }

    @Override
    public boolean requiresUser() {
        return false;
    }

    @Override
    public boolean configuredFor(KeycloakSession session, RealmModel realm, UserModel user) {
        return true;
    }

    @Override
    public void setRequiredActions(KeycloakSession session, RealmModel realm, UserModel user) {
    }

    @Override
    public void close() {
    }
}
