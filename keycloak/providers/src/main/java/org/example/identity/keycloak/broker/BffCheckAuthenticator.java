package org.example.identity.keycloak.broker;

import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.ws.rs.core.Response;
import org.example.identity.keycloak.bff.BffClient;
import org.jboss.logging.Logger;
import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.authentication.AuthenticationFlowError;
import org.keycloak.authentication.Authenticator;
import org.keycloak.authentication.authenticators.broker.AbstractIdpAuthenticator;
import org.keycloak.authentication.authenticators.broker.util.PostBrokerLoginConstants;
import org.keycloak.authentication.authenticators.broker.util.SerializedBrokeredIdentityContext;
import org.keycloak.models.IdentityProviderModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.sessions.AuthenticationSessionModel;

/**
 * Asks the BFF whether a brokered login may go on; the rules live there, in TypeScript
 * (bff/src/flows/brokered-login). Two places use it, told apart by the note Keycloak keeps:
 * <ul>
 *   <li>the first-broker-login flow, before "create user or link": stage {@code before-account},
 *       nothing is written yet, so a refusal leaves nothing behind;</li>
 *   <li>the post-broker-login flow: stage {@code after-login}, the account exists and is linked, and
 *       the BFF provisions it (upstream profile, tenant). A retry of the same login redoes that.</li>
 * </ul>
 * When the BFF cannot answer, the person gets a page with a "Try again" button that posts back here,
 * so the login resumes where it stopped. See docs/decisions/0008-brokered-login-provisioning.md.
 */
final class BffCheckAuthenticator implements Authenticator {

    private static final Logger LOG = Logger.getLogger(BffCheckAuthenticator.class);

    static final String RETRY_TEMPLATE = "platform-brokered-login-retry.ftl";

    /** Refusal reasons of the BFF -> message keys of themes/platform/login/messages. */
    private static final Map<String, String> REFUSAL_MESSAGES = Map.of(
            "account-closed", "platformBrokeredLoginAccountClosed",
            "sign-in-with-password", "platformBrokeredLoginUsePasswordFirst");

    static final String PATH = "/internal/v1/keycloak/brokered-login";

    /** The BFF's answer: `continue`, or `refuse` with a reason the login page explains. */
    private record Decision(boolean proceed, String reason) {
    }

    private final BffClient bff;

    BffCheckAuthenticator(BffClient bff) {
        this.bff = bff;
    }

    @Override
    public void authenticate(AuthenticationFlowContext context) {
        check(context);
    }

    /** The retry page's button. */
    @Override
    public void action(AuthenticationFlowContext context) {
        check(context);
    }

    private void check(AuthenticationFlowContext context) {
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        SerializedBrokeredIdentityContext afterLogin =
                SerializedBrokeredIdentityContext.readFromAuthenticationSession(authSession, PostBrokerLoginConstants.PBL_BROKERED_IDENTITY_CONTEXT);
        SerializedBrokeredIdentityContext brokered = afterLogin != null
                ? afterLogin
                : SerializedBrokeredIdentityContext.readFromAuthenticationSession(authSession, AbstractIdpAuthenticator.BROKERED_CONTEXT_NOTE);
        if (brokered == null) {
            LOG.error("platform-bff-check runs only in first-broker-login and post-broker-login flows");
            context.failure(AuthenticationFlowError.INTERNAL_ERROR);
            return;
        }

        Map<String, Object> request = new LinkedHashMap<>();
        request.put("stage", afterLogin != null ? "after-login" : "before-account");
        request.put("identityProvider", brokered.getIdentityProviderId());
        request.put("brokeredUserId", brokered.getId());
        request.put("brokeredEmail", brokered.getEmail());
        if (afterLogin != null) request.put("userId", context.getUser().getId());

        Decision decision;
        try {
            decision = decide(bff.post(PATH, request));
        } catch (BffClient.UnavailableException e) {
            LOG.warnf("platform-bff-check: %s; the person is offered a retry", e.getMessage());
            context.getEvent().detail("platform_bff", "unavailable");
            context.challenge(context.form()
                    .setAttribute("identityProviderName", displayName(context, brokered))
                    .setError("platformBrokeredLoginUnavailable")
                    .setStatus(Response.Status.SERVICE_UNAVAILABLE)
                    .createForm(RETRY_TEMPLATE));
            return;
        }
        if (decision.proceed()) {
            context.success();
            return;
        }

        context.getEvent().detail("platform_refusal", decision.reason());
        if ("account-disabled".equals(decision.reason())) {
            // Keycloak's own "Account is disabled" page, as for any disabled account.
            context.failure(AuthenticationFlowError.USER_DISABLED);
            return;
        }
        String message = REFUSAL_MESSAGES.getOrDefault(decision.reason(), "platformBrokeredLoginRefused");
        context.failure(AuthenticationFlowError.ACCESS_DENIED,
                context.form().setError(message, displayName(context, brokered)).createErrorPage(Response.Status.FORBIDDEN));
    }

    private static Decision decide(BffClient.Answer res) throws BffClient.UnavailableException {
        if (res.status() != 200) throw new BffClient.UnavailableException("BFF answered HTTP " + res.status());
        String outcome = res.body().path("outcome").asText("");
        if (outcome.equals("continue")) return new Decision(true, null);
        if (outcome.equals("refuse")) return new Decision(false, res.body().path("reason").asText(""));
        throw new BffClient.UnavailableException("BFF answered an unknown outcome");
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
