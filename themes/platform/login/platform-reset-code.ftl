<#--
  "Forgot password" by SMS code (platform-reset-credential, keycloak/providers; docs/decisions/0028).
  The same page and words whether or not an account uses what was typed: nothing here tells. While the
  BFF's resend cooldown runs (platformResendWait seconds), "Send a new code" waits and counts down: a
  wait, not an error. Built from the parent's layout, field and button macros, like its login-otp.ftl.
-->
<#import "template.ftl" as layout>
<#import "field.ftl" as field>
<#import "buttons.ftl" as buttons>
<#assign wait = platformResendWait!0>
<#function clock seconds><#return (seconds / 60)?floor?c + ":" + (seconds % 60)?string("00")></#function>
<@layout.registrationLayout displayInfo=true displayMessage=!messagesPerField.existsError('code'); section>
  <#if section = "header">
    ${msg("platformResetCodeTitle")}
  <#elseif section = "form">
    <p id="platform-reset-code-sent" class="pf-v5-u-mt-md pf-v5-u-mb-md">${msg("platformResetCodeSent", platformResetLogin!"")}</p>
    <form id="platform-reset-code-form" class="${properties.kcFormClass!}" action="${url.loginAction}" method="post">
      <@field.input name="code" label=msg("platformResetCodeLabel") autocomplete="one-time-code" autofocus=true />
      <@buttons.actionGroup>
        <@buttons.button id="platform-reset-code-submit" name="verify" label="doContinue"/>
        <button id="platform-resend" name="resend" value="1" type="submit" formnovalidate
                class="${properties.kcButtonSecondaryClass!} ${properties.kcButtonBlockClass!}"
                aria-describedby="platform-resend-wait"<#if wait gt 0> disabled data-wait="${wait?c}"</#if>>${msg("platformResetCodeResend")}</button>
      </@buttons.actionGroup>
      <p id="platform-resend-wait" class="pf-v5-u-font-size-sm pf-v5-u-mt-sm" data-template="${msg('platformResetCodeResendIn', '{0}')}"<#if wait lte 0> hidden</#if>>${msg("platformResetCodeResendIn", clock(wait))}</p>
    </form>
    <script src="${url.resourcesPath}/js/platform-countdown.js" defer></script>
  <#elseif section = "info">
    <a id="platform-back-to-sign-in" href="${url.loginRestartFlowUrl}">${msg("platformResetBackToSignIn")}</a>
  </#if>
</@layout.registrationLayout>
