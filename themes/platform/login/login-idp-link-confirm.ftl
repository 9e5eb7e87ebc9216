<#--
  base's login-idp-link-confirm.ftl, reworded (issue 17 §10, docs/decisions/0032). Shown by
  idp-confirm-link when someone signs in with Google for the first time and an account with the same
  email address exists. Keycloak passes the situation as an error message, which base shows as a red
  alert above two grey look-alike buttons; here it is the page's text, followed by what linking means,
  the usual choice as the primary button and the other one ("Review profile" in base: edit the details
  to create a separate account) named for what it does. Same form and submitAction values as base.
-->
<#import "template.ftl" as layout>
<#import "buttons.ftl" as buttons>
<@layout.registrationLayout displayMessage=false; section>
    <#if section = "header">
        ${msg("confirmLinkIdpTitle")}
    <#elseif section = "form">
        <#if message?has_content>
            <p id="platform-link-situation" class="pf-v5-u-mb-sm">${kcSanitize(message.summary)?no_esc}</p>
        </#if>
        <p id="platform-link-explain" class="pf-v5-u-mb-md">${msg("platformLinkIdpExplain", idpDisplayName)}</p>
        <form id="kc-register-form" class="${properties.kcFormClass!}" action="${url.loginAction}" method="post">
            <@buttons.actionGroup>
                <button type="submit" class="${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!}" name="submitAction" id="linkAccount" value="linkAccount">${msg("confirmLinkIdpContinue", idpDisplayName)}</button>
                <#if !hideReviewButton?has_content>
                    <p id="platform-link-separate" class="pf-v5-u-mt-sm">${msg("platformLinkIdpSeparate")}</p>
                    <button type="submit" class="${properties.kcButtonSecondaryClass!} ${properties.kcButtonBlockClass!}" name="submitAction" id="updateProfile" value="updateProfile">${msg("confirmLinkIdpReviewProfile")}</button>
                </#if>
            </@buttons.actionGroup>
        </form>
    </#if>
</@layout.registrationLayout>
