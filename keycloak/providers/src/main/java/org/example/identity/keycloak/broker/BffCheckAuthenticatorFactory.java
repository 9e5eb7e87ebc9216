package org.example.identity.keycloak.broker;

import java.util.List;

import org.example.identity.keycloak.bff.BffClient;
import org.jboss.logging.Logger;
import org.keycloak.Config;
import org.keycloak.authentication.Authenticator;
import org.keycloak.authentication.AuthenticatorFactory;
import org.keycloak.models.AuthenticationExecutionModel.Requirement;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;

/**
 * {@code platform-bff-check}. Its settings are server options, not realm data, because the secret
 * must not be readable through the Admin API:
 * {@code KC_SPI_AUTHENTICATOR__PLATFORM_BFF_CHECK__URL} (the BFF's base URL as Keycloak reaches it;
 * https in production) and {@code KC_SPI_AUTHENTICATOR__PLATFORM_BFF_CHECK__SECRET} (equal to the
 * BFF's KEYCLOAK_CALLBACK_SECRET).
 */
public final class BffCheckAuthenticatorFactory implements AuthenticatorFactory {

    public static final String PROVIDER_ID = "platform-bff-check";

    private static final Logger LOG = Logger.getLogger(BffCheckAuthenticatorFactory.class);

    private BffClient bff;

    @Override
    public void init(Config.Scope config) {
        bff = new BffClient(config.get("url"), config.get("secret"));
        if (!bff.configured()) {
            // Not fatal: Keycloak still starts, and logins through flows using this authenticator get the retry page.
            LOG.warn("platform-bff-check has no url or secret (KC_SPI_AUTHENTICATOR__PLATFORM_BFF_CHECK__URL / __SECRET)");
        }
    }

    @Override
    public Authenticator create(KeycloakSession session) {
        return new BffCheckAuthenticator(bff);
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public String getDisplayType() {
        return "Platform: BFF check of a brokered login";
    }

    @Override
    public String getHelpText() {
        return "Asks the platform BFF whether a brokered login may continue (before the account is created or linked, "
                + "or after the login, when the BFF also provisions the account).";
    }

    @Override
    public String getReferenceCategory() {
        return null;
    }

    @Override
    public boolean isConfigurable() {
        return false;
    }

    @Override
    public Requirement[] getRequirementChoices() {
        return new Requirement[] {Requirement.REQUIRED, Requirement.DISABLED};
    }

    @Override
    public boolean isUserSetupAllowed() {
        return false;
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return List.of();
    }

    @Override
    public List<ProviderConfigProperty> getConfigMetadata() {
        return ProviderConfigurationBuilder.create()
                .property().name("url").type(ProviderConfigProperty.STRING_TYPE)
                .helpText("Base URL of the platform BFF as Keycloak reaches it").add()
                .property().name("secret").type(ProviderConfigProperty.PASSWORD).secret(true)
                .helpText("Shared secret sent to the BFF's internal endpoint").add()
                .build();
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
    }

    @Override
    public void close() {
    }
}
