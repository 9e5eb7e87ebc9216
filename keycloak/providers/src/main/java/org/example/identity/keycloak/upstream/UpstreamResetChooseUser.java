package org.example.identity.keycloak.upstream;

import java.util.List;

import jakarta.ws.rs.core.Response;
import org.example.identity.keycloak.bff.BffClient;
import org.jboss.logging.Logger;
import org.keycloak.Config;
import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.authentication.authenticators.browser.AbstractUsernameFormAuthenticator;
import org.keycloak.authentication.authenticators.resetcred.ResetCredentialChooseUser;
import org.keycloak.events.Details;
import org.keycloak.models.ModelDuplicateException;
import org.keycloak.models.UserModel;
import org.keycloak.models.utils.KeycloakModelUtils;
import org.keycloak.provider.ProviderConfigProperty;

/**
 * {@code platform-upstream-reset}: Keycloak's "forgot password" user choice, plus members who have not
 * signed in yet. When no account has the username or e-mail given, the BFF is asked: it finds an
 * account by phone, or imports the active upstream member (by username, e-mail or phone) WITHOUT a
 * password, linked and in the custodian tenant, so that Keycloak's own reset mail goes out. The page
 * that follows is Keycloak's, the same whether or not an account exists. Settings as for
 * platform-upstream-password: {@code KC_SPI_AUTHENTICATOR__PLATFORM_UPSTREAM_RESET__URL / __SECRET}.
 */
public final class UpstreamResetChooseUser extends ResetCredentialChooseUser {

    public static final String PROVIDER_ID = "platform-upstream-reset";

    private static final Logger LOG = Logger.getLogger(UpstreamResetChooseUser.class);

    private UpstreamClient bff;

    @Override
    public void init(Config.Scope config) {
        bff = UpstreamClient.fromConfig(config);
        if (!bff.configured()) {
            LOG.warn("platform-upstream-reset has no url or secret (KC_SPI_AUTHENTICATOR__PLATFORM_UPSTREAM_RESET__URL / __SECRET)");
        }
    }

    @Override
    public void action(AuthenticationFlowContext context) {
        String typed = context.getHttpRequest().getDecodedFormParameters().getFirst("username");
        String login = typed == null ? "" : typed.trim();
        if (login.isEmpty() || knownToKeycloak(context, login)) {
            super.action(context);
            return;
        }
        String userId;
        try {
            userId = bff.prepareReset(login);
        } catch (BffClient.UnavailableException e) {
            LOG.warnf("platform-upstream-reset: %s; the page asks to try again", e.getMessage());
            context.getEvent().detail("platform_upstream", "unavailable");
            context.challenge(context.form()
                    .setError(UpstreamPasswordForm.UNAVAILABLE_MESSAGE)
                    .setStatus(Response.Status.SERVICE_UNAVAILABLE)
                    .createPasswordReset());
            return;
        }
        UserModel user = userId == null ? null : context.getSession().users().getUserById(context.getRealm(), userId);
        if (user == null || !user.isEnabled()) {
            super.action(context); // Keycloak's own "not found" handling: same page, no mail
            return;
        }
        // What Keycloak's choice does for an account it found itself (found here by phone or just imported).
        context.getAuthenticationSession().setAuthNote(AbstractUsernameFormAuthenticator.ATTEMPTED_USERNAME, login);
        context.getAuthenticationSession().setAuthNote(RESET_CREDENTIAL_USER_CHOSEN, "true");
        context.getEvent().detail(Details.USERNAME, login);
        context.setUser(user);
        context.success();
    }

    private static boolean knownToKeycloak(AuthenticationFlowContext context, String login) {
        try {
            return KeycloakModelUtils.findUserByNameOrEmail(context.getSession(), context.getRealm(), login) != null;
        } catch (ModelDuplicateException e) {
            return true;
        }
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public String getDisplayType() {
        return "Platform: choose user, with upstream members";
    }

    @Override
    public String getHelpText() {
        return "Keycloak's reset-credentials user choice; a login Keycloak does not know is looked up in the upstream core "
                + "through the platform BFF, which imports the member without a password so the reset mail can be sent.";
    }

    @Override
    public List<ProviderConfigProperty> getConfigMetadata() {
        return UpstreamSettings.METADATA;
    }
}
