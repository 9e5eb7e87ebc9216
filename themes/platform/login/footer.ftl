<#--
  keycloak.v2 renders this macro at the bottom of every login page; it is the parent's extension point,
  so overriding it keeps every page template the parent's. On the pages that ask who you are it links to
  the BFF's sign-up page (Keycloak's own registration stays off: it cannot verify the identifier by OTP
  before the account exists). The link target is the realm attribute platformSignUpUrl, set from
  realm-config; `return` brings the person back to this same authorization request.
  See docs/decisions/0005-sign-up-pages.md.
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
</#macro>
