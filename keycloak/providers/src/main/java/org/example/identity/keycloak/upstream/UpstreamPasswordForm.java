package org.example.identity.keycloak.upstream;

import jakarta.ws.rs.core.MultivaluedHashMap;
import jakarta.ws.rs.core.MultivaluedMap;
import org.example.identity.keycloak.bff.BffClient;
import org.jboss.logging.Logger;
import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.authentication.authenticators.browser.UsernamePasswordForm;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.ModelDuplicateException;
import org.keycloak.models.ModelException;
import org.keycloak.models.UserCredentialModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.credential.PasswordCredentialModel;
import org.keycloak.models.utils.KeycloakModelUtils;
import org.keycloak.representations.idm.CredentialRepresentation;
import org.keycloak.services.managers.AuthenticationManager;

/**
 * Keycloak's username/password form, plus lazy migration of upstream-only members (seed 000).
 * Before the form's own checks, and only when Keycloak cannot sign the person in by itself:
 * <ul>
 *   <li>no account has this username or e-mail: the BFF is asked; it finds an account by phone, or
 *       imports the upstream member, with this password, once the upstream core accepted it;</li>
 *   <li>the account is upstream-linked and has no password yet (imported for a reset whose link was
 *       not used, or with an upstream password below the realm's policy): once the BFF says the
 *       upstream core accepted the password, it becomes the account's.</li>
 * </ul>
 * Then the form checks the password against the Keycloak account exactly as for anyone (brute-force
 * protection, events, "Invalid username or password"). An account with a password never causes a
 * call: after the first sign-in, Keycloak alone owns the password. A confirmed upstream password that
 * the realm's policy refuses is the one exception: that sign-in goes through (the user checks still
 * run: enabled, brute force) and Keycloak asks for a new password at once. docs/decisions/0012.
 */
final class UpstreamPasswordForm extends UsernamePasswordForm {

    private static final Logger LOG = Logger.getLogger(UpstreamPasswordForm.class);

    static final String UNAVAILABLE_MESSAGE = "platformUpstreamLoginUnavailable";

    private final UpstreamClient bff;

    UpstreamPasswordForm(KeycloakSession session, UpstreamClient bff) {
        super(session);
        this.bff = bff;
    }

    @Override
    protected boolean validateForm(AuthenticationFlowContext context, MultivaluedMap<String, String> formData) {
        String password = formData.getFirst(CredentialRepresentation.PASSWORD);
        if (password == null || password.isEmpty()) return super.validateForm(context, formData);
        String typed = trimmed(formData.getFirst(AuthenticationManager.FORM_USERNAME));
        // Identifier-first (the realm's organization step): the password page does not post the login again.
        String login = typed.isEmpty() ? trimmed(context.getAuthenticationSession().getAuthNote(ATTEMPTED_USERNAME)) : typed;
        boolean userSetBefore = isUserAlreadySetBeforeUsernamePasswordAuth(context);
        UserModel user;
        if (userSetBefore) {
            user = context.getUser();
        } else if (login.isEmpty()) {
            return super.validateForm(context, formData);
        } else {
            try {
                user = KeycloakModelUtils.findUserByNameOrEmail(context.getSession(), context.getRealm(), login);
            } catch (ModelDuplicateException e) {
                return super.validateForm(context, formData); // Keycloak's own message for duplicates
            }
        }
        try {
            if (user == null) {
                String userId = bff.signIn(login, password, null);
                user = userId == null ? null : context.getSession().users().getUserById(context.getRealm(), userId);
            }
            if (user != null && user.isEnabled() && needsFirstPassword(user)
                    && user.getId().equals(bff.signIn(login.isEmpty() ? user.getUsername() : login, password, user.getId()))
                    && !setFirstPassword(user, password)) {
                // The upstream core accepted it, but the policy refuses to store it: this sign-in goes
                // through without Keycloak's password check, and the person sets a new password next.
                user.addRequiredAction(UserModel.RequiredAction.UPDATE_PASSWORD);
                context.getEvent().detail("platform_upstream", "password_below_policy");
                return userSetBefore ? validateUser(context, formData) : validateUser(context, withUsername(formData, user));
            }
        } catch (BffClient.UnavailableException e) {
            LOG.warnf("platform-upstream-password: %s; the login page asks to try again", e.getMessage());
            context.getEvent().detail("platform_upstream", "unavailable");
            context.challenge(challenge(context, UNAVAILABLE_MESSAGE, null));
            return false;
        }
        if (userSetBefore || user == null || user.getUsername().equals(typed)) return super.validateForm(context, formData);
        // Found by phone, imported, or named only by the identifier-first step: the form looks the account up by username.
        return super.validateForm(context, withUsername(formData, user));
    }

    private static MultivaluedMap<String, String> withUsername(MultivaluedMap<String, String> formData, UserModel user) {
        MultivaluedMap<String, String> resolved = new MultivaluedHashMap<>();
        formData.forEach(resolved::put);
        resolved.putSingle(AuthenticationManager.FORM_USERNAME, user.getUsername());
        return resolved;
    }

    private static String trimmed(String s) {
        return s == null ? "" : s.trim();
    }

    /**
     * The upstream core accepted this password for this account: it becomes the Keycloak password, set
     * here (in this session, so the check that follows sees it), hashed and policy-checked by Keycloak.
     * False when the realm's password policy refuses it.
     */
    private static boolean setFirstPassword(UserModel user, String password) {
        try {
            user.credentialManager().updateCredential(UserCredentialModel.password(password));
            return true;
        } catch (ModelException e) {
            LOG.infof("platform-upstream-password: the upstream password of user %s is below the password policy; a new one is required", user.getId());
            return false;
        }
    }

    /** Imported for a password reset and not signed in since: the upstream password may still be the one. */
    private static boolean needsFirstPassword(UserModel user) {
        return user.getFirstAttribute("upstreamUserId") != null
                && !user.credentialManager().isConfiguredFor(PasswordCredentialModel.TYPE);
    }
}
