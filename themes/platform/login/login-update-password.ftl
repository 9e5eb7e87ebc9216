<#--
  keycloak.v2's login-update-password.ftl with three changes (issue 17 §14, docs/decisions/0032):
  - the realm's password rules are listed before the first try, from passwordPolicies (Keycloak's
    bean of the realm's password policy), so a change of policy changes the list;
  - Keycloak's notice ("choose a new password...") is the page's introduction, not a yellow warning:
    a reset the person asked for is nothing to warn about;
  - the button says what it does.
  Fields, checkbox, buttons and the parent's live policy check are unchanged.
-->
<#import "template.ftl" as layout>
<#import "password-commons.ftl" as passwordCommons>
<#import "field.ftl" as field>
<#import "buttons.ftl" as buttons>
<#import "password-validation.ftl" as validator>
<#assign notice = message?has_content && message.type == "warning">
<@layout.registrationLayout displayMessage=!notice && !messagesPerField.existsError('password','password-confirm'); section>
    <#if section = "header">
        ${msg("updatePasswordTitle")}
    <#elseif section = "form">
        <#if notice>
            <p id="platform-password-intro" class="pf-v5-u-mb-md">${kcSanitize(message.summary)?no_esc}</p>
        </#if>
        <#if passwordPolicies??>
            <div id="platform-password-rules" class="pf-v5-u-mb-md">
                <p>${msg("platformPasswordRules")}</p>
                <ul class="${properties.kcListClass!}">
                    <#if (passwordPolicies.length!0) gt 0><li>${msg("platformPasswordRuleLength", passwordPolicies.length)}</li></#if>
                    <#if (passwordPolicies.digits!0) gt 0><li>${msg("platformPasswordRuleDigits", passwordPolicies.digits)}</li></#if>
                    <#if (passwordPolicies.lowerCase!0) gt 0><li>${msg("platformPasswordRuleLowerCase", passwordPolicies.lowerCase)}</li></#if>
                    <#if (passwordPolicies.upperCase!0) gt 0><li>${msg("platformPasswordRuleUpperCase", passwordPolicies.upperCase)}</li></#if>
                    <#if (passwordPolicies.specialChars!0) gt 0><li>${msg("platformPasswordRuleSpecialChars", passwordPolicies.specialChars)}</li></#if>
                    <#if passwordPolicies.notUsername><li>${msg("platformPasswordRuleNotUsername")}</li></#if>
                    <#if passwordPolicies.notEmail><li>${msg("platformPasswordRuleNotEmail")}</li></#if>
                    <#if (passwordPolicies.passwordHistory!0) gt 0><li>${msg("platformPasswordRuleHistory", passwordPolicies.passwordHistory)}</li></#if>
                </ul>
            </div>
        </#if>
        <form id="kc-passwd-update-form" class="${properties.kcFormClass!}" onsubmit="login.disabled = true; return true;" action="${url.loginAction}" method="post" novalidate="novalidate">
            <@field.password name="password-new" label=msg("passwordNew") fieldName="password" autocomplete="new-password" autofocus=true />
            <@field.password name="password-confirm" label=msg("passwordConfirm") autocomplete="new-password" />

            <div class="${properties.kcFormGroupClass!}">
                <@passwordCommons.logoutOtherSessions/>
            </div>

            <@buttons.actionGroup horizontal=true>
                <@buttons.button id="kc-submit" name="login" label="platformSavePassword"/>
                <#if isAppInitiatedAction??>
                    <@buttons.button id="kc-cancel" label="doCancel" name="cancel-aia" type="secondary"/>
                </#if>
            </@buttons.actionGroup>
        </form>

        <@validator.templates/>
        <@validator.script field="password-new"/>
    </#if>
</@layout.registrationLayout>
