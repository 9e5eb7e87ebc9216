package org.example.identity.keycloak.signup;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import org.example.identity.keycloak.bff.BffClient;
import org.jboss.logging.Logger;
import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.authentication.AuthenticationProcessor;
import org.keycloak.authentication.Authenticator;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpoint;
import org.keycloak.sessions.AuthenticationSessionModel;

/**
 * {@code platform-sign-up-ticket}, the first alternative of the platform's browser flow (issue 17 §3,
 * docs/decisions/0027): a finished sign-up ends signed in, in the authorization request it started from.
 * <ul>
 *   <li>A ticket in the authentication session (put there by {@link SignUpResource}'s
 *       {@code platform-sign-up/continue}, which found this browser's session for the tab): it is removed
 *       and redeemed at the BFF for this tab. The BFF answers the new account once (single use, 5
 *       minutes, this tab only); an enabled account is signed in. A refusal, or no BFF, leaves the
 *       person on the login page with "Your account is ready; sign in with your username and password".</li>
 *   <li>No ticket, but the authorization request asked for the sign-up page ({@code platform_screen=signup},
 *       which Keycloak keeps as the client note {@code client_request_param_platform_screen}): the browser
 *       goes to the realm's {@code platformSignUpUrl} with {@code return} (this session's restart URL) and
 *       {@code lang}, exactly like the login page's "Create an account" link. Once only: the note is removed,
 *       so coming back without a ticket shows the login page. {@code platform_screen=state-link} does the
 *       same with the realm's {@code platformStateLinkUrl} (a state portal's sign-in link, decision 0039).</li>
 *   <li>Otherwise it does nothing (attempted) and the flow goes on as before.</li>
 * </ul>
 */
final class SignUpTicketAuthenticator implements Authenticator {

    private static final Logger LOG = Logger.getLogger(SignUpTicketAuthenticator.class);

    static final String REDEEM_PATH = "/internal/v1/keycloak/sign-up/ticket";
    static final String TICKET_NOTE = "platform.signUp.ticket";
    static final String SCREEN_NOTE = AuthorizationEndpoint.LOGIN_SESSION_NOTE_ADDITIONAL_REQ_PARAMS_PREFIX + "platform_screen";
    static final String READY_MESSAGE = "platformSignUpReadySignIn";
    /**
     * The BFF pages an authorization request may ask for with {@code platform_screen}, each by the realm
     * attribute holding its URL: the sign-up page, and the state portal link's page (issue 19 §1,
     * docs/decisions/0039), which verified the state's link before it started this request and ends it
     * with a ticket exactly like a sign-up.
     */
    static final Map<String, String> SCREENS = Map.of("signup", "platformSignUpUrl", "state-link", "platformStateLinkUrl");

    private final BffClient bff;

    SignUpTicketAuthenticator(BffClient bff) {
        this.bff = bff;
    }

    @Override
    public void authenticate(AuthenticationFlowContext context) {
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        String ticket = authSession.getAuthNote(TICKET_NOTE);
        if (ticket != null) {
            authSession.removeAuthNote(TICKET_NOTE); // one try per continue, whatever the BFF says
            redeem(context, ticket);
            return;
        }
        String screen = authSession.getClientNote(SCREEN_NOTE);
        String screenAttribute = screen == null ? null : SCREENS.get(screen);
        if (screenAttribute != null) {
            authSession.removeClientNote(SCREEN_NOTE);
            String screenUrl = context.getRealm().getAttribute(screenAttribute);
            if (screenUrl != null && !screenUrl.isBlank()) {
                context.challenge(Response.status(Response.Status.FOUND).location(signUpPage(context, screenUrl)).build());
                return;
            }
        }
        context.attempted();
    }

    private void redeem(AuthenticationFlowContext context, String ticket) {
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        BffClient.Answer answer;
        try {
            answer = bff.post(REDEEM_PATH, Map.of("ticket", ticket, "tabId", authSession.getTabId()));
        } catch (BffClient.UnavailableException e) {
            LOG.warnf("platform-sign-up-ticket: %s; the login page asks the new account to sign in", e.getMessage());
            signInYourself(context, "unavailable");
            return;
        }
        String userId = answer.body().path("userId").asText("");
        UserModel user = answer.status() == 200 && !userId.isEmpty() ? context.getSession().users().getUserById(context.getRealm(), userId) : null;
        if (user == null || !user.isEnabled()) {
            signInYourself(context, "refused");
            return;
        }
        context.getEvent().user(user).detail("platform_sign_up", "ticket");
        context.setUser(user);
        context.success();
    }

    /** The login page, with a calm notice (info, not an error): the account exists, sign in to it. */
    private static void signInYourself(AuthenticationFlowContext context, String why) {
        context.getEvent().detail("platform_sign_up", "ticket_" + why);
        if (context instanceof AuthenticationProcessor.Result result) result.setForwardedInfoMessage(READY_MESSAGE);
        context.attempted();
    }

    /** {@code platformSignUpUrl?return=<restart URL of this session, relative>&lang=<locale>}, as footer.ftl builds it. */
    private static URI signUpPage(AuthenticationFlowContext context, String signUpUrl) {
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        URI restart = UriBuilder.fromUri(context.getUriInfo().getBaseUri())
                .path("realms/{realm}/login-actions/restart")
                .queryParam("client_id", "{client}")
                .queryParam("tab_id", "{tab}")
                .queryParam("client_data", "{data}")
                .build(context.getRealm().getName(), authSession.getClient().getClientId(), authSession.getTabId(),
                        AuthenticationProcessor.getClientData(context.getSession(), authSession));
        String back = restart.getRawPath() + "?" + restart.getRawQuery();
        String lang = context.getSession().getContext().resolveLocale(null).toLanguageTag();
        return URI.create(signUpUrl + (signUpUrl.contains("?") ? "&" : "?") + "return=" + encode(back) + "&lang=" + encode(lang));
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Override
    public void action(AuthenticationFlowContext context) {
        authenticate(context);
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
