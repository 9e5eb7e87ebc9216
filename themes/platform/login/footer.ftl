<#--
  keycloak.v2 renders this macro at the bottom of every login page; it is the parent's extension point,
  so filling it keeps the parent's page templates. It adds (docs/decisions/0005, 0032):
  1. on the pages that ask who you are, the link to the BFF's sign-up page (Keycloak's own registration
     stays off: it cannot verify the identifier by OTP before the account exists). The target is the
     realm attribute platformSignUpUrl; `return` brings the person back to this authorization request;
  2. on error and information pages that end without a link, a way forward: "Go to sign in", the
     portal (realm attribute platformPortalUrl), where every sign-in starts;
  3. labels the parent's markup misses, visually hidden (the visible label reads the same but points at
     an id the page does not have): the read-only username on the password page, and the two fields
     of the authenticator-app set-up (both labels say for="form-vertical-name"), and that page's QR
     code gets an alt text in the page's language;
  4. a marker for login.css on the page that proves an existing account while linking another sign-in
     service (first broker login): only the password is relevant there, not other sign-in buttons.
-->
<#macro content>
  <#assign signUpUrl = realm.getAttribute("platformSignUpUrl")!"">
  <#-- Not once Keycloak knows who is signing in (e.g. re-authentication to link a Google account). -->
  <#if signUpUrl?has_content && (pageId == "login-username" || pageId == "login") && !usernameHidden?? && !registrationDisabled?? && !(auth?has_content && auth.showUsername())>
    <div id="kc-registration" class="${properties.kcLoginMainFooterBand!}">
      <div class="${properties.kcLoginMainFooterBandItem!}">
        <span>${msg("noAccount")}
          <a id="platform-sign-up" href="${signUpUrl}?return=${url.loginRestartFlowUrl?url('UTF-8')}<#if locale??>&amp;lang=${locale.currentLanguageTag?url('UTF-8')}</#if>">${msg("platformSignUp")}</a>
        </span>
      </div>
    </div>
  </#if>

  <#-- The parent's error.ftl and info.ftl show a link only when the application has a base URL (or,
       on info pages, a next step); mirrored here, so exactly one way forward is shown. -->
  <#assign portalUrl = realm.getAttribute("platformPortalUrl")!"">
  <#if pageId == "error">
    <#assign hasLink = !skipLink?? && (client.baseUrl)?has_content>
  <#elseif pageId == "info">
    <#assign hasLink = !skipLink?? && ((pageRedirectUri!"")?has_content || (actionUri!"")?has_content || (client.baseUrl)?has_content)>
  <#else>
    <#assign hasLink = true>
  </#if>
  <#if !hasLink && portalUrl?has_content>
    <div id="platform-way-forward">
      <a id="platform-go-to-sign-in" href="${portalUrl}" class="${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!}">${msg("platformGoToSignIn")}</a>
    </div>
  </#if>

  <#if auth?has_content && auth.showUsername() && !auth.showResetCredentials()>
    <label for="kc-attempted-username" class="pf-v5-screen-reader"><#if !realm.loginWithEmailAllowed>${msg("username")}<#elseif !realm.registrationEmailAsUsername>${msg("usernameOrEmail")}<#else>${msg("email")}</#if></label>
  </#if>

  <#if pageId == "login-config-totp">
    <label for="totp" class="pf-v5-screen-reader">${msg("authenticatorCode")}</label>
    <label for="userLabel" class="pf-v5-screen-reader">${msg("loginTotpDeviceName")}</label>
    <#-- The parent writes the QR code's alt text in English ("Figure: Barcode") into the page. -->
    <script><#outputformat "JavaScript">document.getElementById("kc-totp-secret-qr-code")?.setAttribute("alt", ${msg("platformTotpQrAlt")?c});</#outputformat></script>
  </#if>

  <#if pageId == "login" && ((url.loginAction)!"")?contains("/first-broker-login")>
    <span hidden data-platform-first-broker-login></span>
  </#if>
</#macro>
