package org.example.identity.keycloak.upstream;

import java.util.List;

import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;

/** The server options both upstream authenticators read (documented for `kc.sh show-config` and the admin console). */
final class UpstreamSettings {

    static final List<ProviderConfigProperty> METADATA = ProviderConfigurationBuilder.create()
            .property().name("url").type(ProviderConfigProperty.STRING_TYPE)
            .helpText("Base URL of the platform BFF as Keycloak reaches it").add()
            .property().name("secret").type(ProviderConfigProperty.PASSWORD).secret(true)
            .helpText("Shared secret sent to the BFF's internal endpoints").add()
            .build();

    private UpstreamSettings() {
    }
}
