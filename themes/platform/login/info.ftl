<#--
  base's info.ftl, two changes (docs/decisions/0032): without a messageHeader, base shows the message as
  the title and again below it ("You have signed out." twice), so the title stands alone then; and the
  next step is a button, like footer.ftl's "Go to sign in" where base offers no link. Same links as base.
-->
<#import "template.ftl" as layout>
<@layout.registrationLayout displayMessage=false; section>
    <#if section = "header">
        <#if messageHeader??>${kcSanitize(msg("${messageHeader}"))?no_esc}<#else>${message.summary}</#if>
    <#elseif section = "form">
        <div id="kc-info-message">
            <#if messageHeader?? || requiredActions??>
                <p class="instruction pf-v5-u-mb-md">${message.summary}<#if requiredActions??><#list requiredActions>: <b><#items as reqActionItem>${kcSanitize(msg("requiredAction.${reqActionItem}"))?no_esc}<#sep>, </#items></b></#list></#if></p>
            </#if>
            <#if !skipLink??>
                <#if pageRedirectUri?has_content>
                    <a href="${pageRedirectUri}" class="${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!}">${msg("backToApplication")}</a>
                <#elseif actionUri?has_content>
                    <a href="${actionUri}" class="${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!}">${msg("proceedWithAction")}</a>
                <#elseif (client.baseUrl)?has_content>
                    <a href="${client.baseUrl}" class="${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!}">${msg("backToApplication")}</a>
                </#if>
            </#if>
        </div>
    </#if>
</@layout.registrationLayout>
