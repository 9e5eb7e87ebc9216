package org.example.identity.keycloak.signup;

import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.services.resource.RealmResourceProvider;
import org.keycloak.services.resource.RealmResourceProviderFactory;

/** {@code /realms/{realm}/platform-sign-up}: the way back from the BFF's sign-up page, signed in ({@link SignUpResource}). */
public final class SignUpResourceProviderFactory implements RealmResourceProviderFactory {

    public static final String ID = "platform-sign-up";

    @Override
    public RealmResourceProvider create(KeycloakSession session) {
        return new SignUpResource(session);
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return ID;
    }
}
