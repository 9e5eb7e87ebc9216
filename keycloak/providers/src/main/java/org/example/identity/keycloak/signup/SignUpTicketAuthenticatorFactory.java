package org.example.identity.keycloak.signup;

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
 * {@code platform-sign-up-ticket}. Server options, not realm data (the secret must not be readable through
 * the Admin API): {@code KC_SPI_AUTHENTICATOR__PLATFORM_SIGN_UP_TICKET__URL} (the BFF's base URL as
 * Keycloak reaches it) and {@code KC_SPI_AUTHENTICATOR__PLATFORM_SIGN_UP_TICKET__SECRET} (equal to the
 * BFF's KEYCLOAK_CALLBACK_SECRET).
 */
public final class SignUpTicketAuthenticatorFactory implements AuthenticatorFactory {

    public static final String PROVIDER_ID = "platform-sign-up-ticket";

    private static final Logger LOG = Logger.getLogger(SignUpTicketAuthenticatorFactory.class);

    private BffClient bff;

    @Override
    public void init(Config.Scope config) {
        bff = new BffClient(config.get("url"), config.get("secret"));
        if (!bff.configured()) {
            // Not fatal: a finished sign-up then lands on the login page with "sign in with your username and password".
            LOG.warn("platform-sign-up-ticket has no url or secret (KC_SPI_AUTHENTICATOR__PLATFORM_SIGN_UP_TICKET__URL / __SECRET)");
        }
    }

    @Override
    public Authenticator create(KeycloakSession session) {
        return new SignUpTicketAuthenticator(bff);
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public String getDisplayType() {
        return "Platform: sign in after sign-up (BFF ticket)";
    }

    @Override
    public String getHelpText() {
        return "Signs in the account a sign-up on the platform's page just created, with the single-use ticket the BFF minted for this "
                + "browser tab; also sends authorization requests with platform_screen=signup to the sign-up page.";
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
        return new Requirement[] {Requirement.ALTERNATIVE, Requirement.DISABLED};
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
                .helpText("Shared secret sent to the BFF's internal endpoints").add()
                .build();
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
    }

    @Override
    public void close() {
    }
}
