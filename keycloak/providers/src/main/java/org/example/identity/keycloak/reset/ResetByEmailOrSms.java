package org.example.identity.keycloak.reset;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import jakarta.ws.rs.core.MultivaluedMap;
import org.example.identity.keycloak.bff.BffClient;
import org.jboss.logging.Logger;
import org.keycloak.Config;
import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.authentication.authenticators.browser.AbstractUsernameFormAuthenticator;
import org.keycloak.authentication.authenticators.resetcred.ResetCredentialEmail;
import org.keycloak.common.util.Time;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.models.DefaultActionTokenKey;
import org.keycloak.models.UserModel;
import org.keycloak.models.utils.FormMessage;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;
import org.keycloak.services.messages.Messages;
import org.keycloak.sessions.AuthenticationSessionModel;

/**
 * {@code platform-reset-credential}: the "forgot password" step after the user choice, in place of
 * Keycloak's {@code reset-credential-email} (issue 17 §1, docs/decisions/0028). It sends Keycloak's own
 * reset link by e-mail, or a 6-digit code by SMS that the BFF sends with its OTP service:
 * <ul>
 *   <li>a phone number typed: the code page, always. The BFF sends the code only when an enabled
 *       account has exactly this number, proven ({@code phoneVerified}); otherwise it counts the request
 *       like a real one and sends nothing, so the page and its limits never tell whether an account
 *       uses the number, and no code can succeed;</li>
 *   <li>an e-mail address or a username of an account with a usable e-mail (proven, or the upstream
 *       core's address of a member imported by lazy migration, decision 0012): Keycloak's link;</li>
 *   <li>a username of an account with only a proven phone: the code page;</li>
 *   <li>anything else: Keycloak's "You should receive an email shortly", and nothing is sent.</li>
 * </ul>
 * The right code ends this step; Keycloak's {@code reset-password} then asks for the new password and
 * the person ends signed in. Keycloak never sends the phone number: the BFF reads it from the account.
 * Settings: {@code KC_SPI_AUTHENTICATOR__PLATFORM_RESET_CREDENTIAL__URL / __SECRET}.
 */
public final class ResetByEmailOrSms extends ResetCredentialEmail {

    public static final String PROVIDER_ID = "platform-reset-credential";

    private static final Logger LOG = Logger.getLogger(ResetByEmailOrSms.class);

    static final String TEMPLATE = "platform-reset-code.ftl";
    static final String CODE_PATH = "/internal/v1/keycloak/password-reset/code";
    static final String VERIFY_PATH = "/internal/v1/keycloak/password-reset/verify";
    /** "sms" once this authentication session is on the code page: its POSTs are codes, never an e-mail link's. */
    static final String CHANNEL_NOTE = "platform.reset.channel";
    /** When (epoch seconds) a new code may be asked for. */
    static final String RESEND_AT_NOTE = "platform.reset.resendAt";
    /** The auth note after which Keycloak's pages show the attempted username whether or not a user is set (AuthenticationContextBean.showUsername). */
    static final String USERNAME_HIDDEN = "USERNAME_HIDDEN";

    /** As the BFF reads a login (flows/upstream-login readLogin): digits and the usual separators. */
    private static final Pattern PHONE = Pattern.compile("^\\+?[\\d\\s().-]{6,20}$");
    private static final Pattern CODE = Pattern.compile("^\\d{6}$");

    private BffClient bff;

    @Override
    public void init(Config.Scope config) {
        bff = new BffClient(config.get("url"), config.get("secret"));
        if (!bff.configured()) {
            // Not fatal: e-mail links still go out; the code page says it cannot send a code just now.
            LOG.warn("platform-reset-credential has no url or secret (KC_SPI_AUTHENTICATOR__PLATFORM_RESET_CREDENTIAL__URL / __SECRET)");
        }
    }

    @Override
    public void authenticate(AuthenticationFlowContext context) {
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        UserModel user = context.getUser();
        String tokenUser = authSession.getAuthNote(DefaultActionTokenKey.ACTION_TOKEN_USER_ID);
        if (user != null && user.getId().equals(tokenUser)) {
            super.authenticate(context); // back from the e-mail link: Keycloak's step lets it through
            return;
        }
        if ("sms".equals(authSession.getAuthNote(CHANNEL_NOTE))) {
            // A reload of the code page: show it again, without sending another code.
            codePage(context, null, secondsUntil(authSession.getAuthNote(RESEND_AT_NOTE)));
            return;
        }
        String login = login(context);
        boolean typedPhone = !login.contains("@") && PHONE.matcher(login).matches();
        boolean typedUsername = !login.contains("@") && !typedPhone;
        if (typedPhone || (typedUsername && user != null && !emailUsable(user) && phoneUsable(user))) {
            authSession.setAuthNote(CHANNEL_NOTE, "sms");
            sendCode(context);
            return;
        }
        if (user != null && !emailUsable(user)) {
            // No proven address to send a link to: the same page as for anyone, and nothing is sent.
            context.getEvent().clone().user(user).detail(Details.USERNAME, login).error(Errors.INVALID_EMAIL);
            context.forkWithSuccessMessage(new FormMessage(Messages.EMAIL_SENT));
            return;
        }
        super.authenticate(context); // Keycloak's link (or, for no account, the same page and no mail)
    }

    @Override
    public void action(AuthenticationFlowContext context) {
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        if (!"sms".equals(authSession.getAuthNote(CHANNEL_NOTE))) {
            super.action(context); // the e-mail link, verified by Keycloak's action-token handler
            return;
        }
        if (!"POST".equalsIgnoreCase(context.getHttpRequest().getHttpMethod())) {
            codePage(context, null, secondsUntil(authSession.getAuthNote(RESEND_AT_NOTE)));
            return;
        }
        MultivaluedMap<String, String> form = context.getHttpRequest().getDecodedFormParameters();
        if (form.containsKey("resend")) {
            sendCode(context);
            return;
        }
        int wait = secondsUntil(authSession.getAuthNote(RESEND_AT_NOTE));
        String code = form.getFirst("code") == null ? "" : form.getFirst("code").replaceAll("\\s", "");
        if (!CODE.matcher(code).matches()) {
            codePage(context, new FormMessage("code", "platformResetCodeFormat"), wait);
            return;
        }
        UserModel user = context.getUser();
        Map<String, Object> request = request(context);
        request.remove("language");
        request.put("code", code);
        BffClient.Answer answer;
        try {
            answer = bff.post(VERIFY_PATH, request);
        } catch (BffClient.UnavailableException e) {
            LOG.warnf("platform-reset-credential: %s; the code page asks to try again", e.getMessage());
            codePage(context, new FormMessage(null, "platformResetCodeUnavailable"), wait);
            return;
        }
        if (answer.status() == 200 && "verified".equals(answer.body().path("outcome").asText()) && user != null && user.isEnabled()) {
            authSession.removeAuthNote(CHANNEL_NOTE);
            authSession.removeAuthNote(RESEND_AT_NOTE);
            authSession.removeAuthNote(USERNAME_HIDDEN);
            context.getEvent().detail("platform_reset", "sms");
            context.success();
            return;
        }
        if (answer.status() == 429) {
            int retry = retryAfter(answer);
            authSession.setAuthNote(RESEND_AT_NOTE, String.valueOf(Time.currentTime() + retry));
            codePage(context, new FormMessage("code", "platformResetCodeTooManyTries"), retry);
            return;
        }
        if (!answer.body().has("attemptsLeft")) {
            LOG.warnf("platform-reset-credential: the BFF refused the code check (HTTP %d)", answer.status());
            codePage(context, new FormMessage(null, "platformResetCodeUnavailable"), wait);
            return;
        }
        context.getEvent().clone().detail("platform_reset", "sms").error(Errors.INVALID_CODE);
        int left = answer.body().path("attemptsLeft").asInt(0);
        if (left > 0) {
            codePage(context, new FormMessage("code", "platformResetCodeWrong", left), wait);
        } else if (answer.body().has("retryAfterSeconds")) {
            // That was the last try: no new code until the BFF's failure window ends, so count that down.
            int retry = retryAfter(answer);
            authSession.setAuthNote(RESEND_AT_NOTE, String.valueOf(Time.currentTime() + retry));
            codePage(context, new FormMessage("code", "platformResetCodeWrongLast"), retry);
        } else {
            codePage(context, new FormMessage("code", "platformResetCodeExpired"), wait);
        }
    }

    /** Asks the BFF for a code (it decides whether one is sent) and shows the code page. */
    private void sendCode(AuthenticationFlowContext context) {
        AuthenticationSessionModel authSession = context.getAuthenticationSession();
        context.getEvent().detail("platform_reset", "sms");
        BffClient.Answer answer;
        try {
            answer = bff.post(CODE_PATH, request(context));
        } catch (BffClient.UnavailableException e) {
            LOG.warnf("platform-reset-credential: %s; the code page asks to try again", e.getMessage());
            codePage(context, new FormMessage(null, "platformResetCodeUnavailable"), 0);
            return;
        }
        int wait = answer.status() == 429 ? retryAfter(answer)
                : answer.status() == 200 ? Math.max(0, answer.body().path("resendAfterSeconds").asInt(0)) : -1;
        if (wait < 0) {
            LOG.warnf("platform-reset-credential: the BFF refused the code request (HTTP %d)", answer.status());
            codePage(context, new FormMessage(null, "platformResetCodeUnavailable"), 0);
            return;
        }
        authSession.setAuthNote(RESEND_AT_NOTE, String.valueOf(Time.currentTime() + wait));
        // 429: a code was asked for a moment ago (it still works) or the limits are reached; either way
        // the page counts down to when a new one may be asked for, and says nothing more.
        codePage(context, null, wait);
    }

    /** What the BFF is told: what was typed, the account Keycloak found (if any), the page's language, the person's IP. */
    private static Map<String, Object> request(AuthenticationFlowContext context) {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("login", login(context));
        if (context.getUser() != null) request.put("userId", context.getUser().getId());
        request.put("language", context.getSession().getContext().resolveLocale(context.getUser()).toLanguageTag());
        request.put("ip", context.getConnection().getRemoteAddr());
        return request;
    }

    private static void codePage(AuthenticationFlowContext context, FormMessage message, int resendWaitSeconds) {
        // The parent shows the typed login above the form when Keycloak found an account, or when this
        // note is set: set, it shows for every login, so the page does not tell whether one was found.
        context.getAuthenticationSession().setAuthNote(USERNAME_HIDDEN, "true");
        LoginFormsProvider form = context.form()
                .setAttribute("platformResetLogin", login(context))
                .setAttribute("platformResendWait", Math.max(0, resendWaitSeconds));
        if (message != null) form.addError(message);
        context.challenge(form.createForm(TEMPLATE));
    }

    private static String login(AuthenticationFlowContext context) {
        String login = context.getAuthenticationSession().getAuthNote(AbstractUsernameFormAuthenticator.ATTEMPTED_USERNAME);
        return login == null ? "" : login.trim();
    }

    /** Proven, or the upstream core's address of a member imported by lazy migration (decision 0012). */
    private static boolean emailUsable(UserModel user) {
        String email = user.getEmail();
        return email != null && !email.isBlank()
                && (user.isEmailVerified() || "upstreamMigration".equals(user.getFirstAttribute("signUpType")));
    }

    private static boolean phoneUsable(UserModel user) {
        String phone = user.getFirstAttribute("phone");
        return phone != null && !phone.isBlank() && "true".equals(user.getFirstAttribute("phoneVerified"));
    }

    private static int retryAfter(BffClient.Answer answer) {
        return Math.max(1, answer.body().path("retryAfterSeconds").asInt(60));
    }

    private static int secondsUntil(String epochSeconds) {
        if (epochSeconds == null) return 0;
        try {
            return (int) Math.max(0, Long.parseLong(epochSeconds) - Time.currentTime());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public String getDisplayType() {
        return "Platform: send reset link or SMS code";
    }

    @Override
    public String getHelpText() {
        return "Keycloak's reset e-mail for accounts with a proven e-mail; for a phone number, or an account with only a proven phone, "
                + "a 6-digit code sent by SMS through the platform BFF, the same page whether or not an account uses the number.";
    }

    @Override
    public List<ProviderConfigProperty> getConfigMetadata() {
        return ProviderConfigurationBuilder.create()
                .property().name("url").type(ProviderConfigProperty.STRING_TYPE)
                .helpText("Base URL of the platform BFF as Keycloak reaches it").add()
                .property().name("secret").type(ProviderConfigProperty.PASSWORD).secret(true)
                .helpText("Shared secret sent to the BFF's internal endpoints").add()
                .build();
    }
}
