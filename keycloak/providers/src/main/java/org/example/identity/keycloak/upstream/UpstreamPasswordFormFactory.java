package org.example.identity.keycloak.upstream;

import java.util.List;

import org.jboss.logging.Logger;
import org.keycloak.Config;
import org.keycloak.authentication.Authenticator;
import org.keycloak.authentication.authenticators.browser.UsernamePasswordFormFactory;
import org.keycloak.models.KeycloakSession;
import org.keycloak.provider.ProviderConfigProperty;

/**
 * {@code platform-upstream-password}: Keycloak's username/password form with lazy migration from the
 * upstream core. Server options (not realm data: the secret must not be readable through the Admin API):
 * {@code KC_SPI_AUTHENTICATOR__PLATFORM_UPSTREAM_PASSWORD__URL} (the BFF's base URL as Keycloak reaches
 * it; https in production) and {@code KC_SPI_AUTHENTICATOR__PLATFORM_UPSTREAM_PASSWORD__SECRET} (equal
 * to the BFF's KEYCLOAK_CALLBACK_SECRET).
 */
public final class UpstreamPasswordFormFactory extends UsernamePasswordFormFactory {

    public static final String PROVIDER_ID = "platform-upstream-password";

    private static final Logger LOG = Logger.getLogger(UpstreamPasswordFormFactory.class);

    private UpstreamClient bff;

    @Override
    public void init(Config.Scope config) {
        bff = UpstreamClient.fromConfig(config);
        if (!bff.configured()) {
            // Not fatal: members already in Keycloak sign in as usual; unknown logins get "try again".
            LOG.warn("platform-upstream-password has no url or secret (KC_SPI_AUTHENTICATOR__PLATFORM_UPSTREAM_PASSWORD__URL / __SECRET)");
        }
    }

    @Override
    public Authenticator create(KeycloakSession session) {
        return new UpstreamPasswordForm(session, bff);
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public String getDisplayType() {
        return "Platform: username/password form with upstream migration";
    }

    @Override
    public String getHelpText() {
        return "Keycloak's username/password form; a login Keycloak does not know is checked against the upstream core "
                + "through the platform BFF, which imports the member with this password only when the check passes.";
    }

    @Override
    public List<ProviderConfigProperty> getConfigMetadata() {
        return UpstreamSettings.METADATA;
    }
}
