<#-- Same macro as base's html/template.ftl, wrapped in a branded frame. Every html/*.ftl of base
     imports this, so all emails get it. Inline styles and tables because mail clients drop most CSS. -->
<#macro emailLayout>
<html lang="${locale.language}" dir="${(ltr)?then('ltr','rtl')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  .platform-content a { color: ${properties.brandPrimary}; font-weight: 600; }
</style>
</head>
<body style="margin:0; padding:0; background:${properties.brandSurface};">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:${properties.brandSurface};">
  <tr>
    <td align="center" style="padding:32px 16px;">
      <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px; font-family:${properties.brandFont};">
        <tr>
          <td style="padding:0 4px 16px; font-size:20px; font-weight:600; line-height:28px; color:${properties.brandInk};">
            <span style="display:inline-block; width:24px; height:24px; margin-right:10px; vertical-align:-5px; border-radius:6px; background:${properties.brandPrimary};"></span>${msg("productName")}
          </td>
        </tr>
        <tr>
          <td class="platform-content" style="padding:32px; background:#ffffff; border-top:4px solid ${properties.brandPrimary}; border-radius:${properties.brandRadius}; font-size:16px; line-height:1.6; color:${properties.brandText};">
            <#nested>
          </td>
        </tr>
        <tr>
          <td style="padding:16px 4px; font-size:12px; line-height:1.5; color:${properties.brandMuted};">
            ${msg("emailFooter", msg("productName"), realmName)}
          </td>
        </tr>
      </table>
    </td>
  </tr>
</table>
</body>
</html>
</#macro>
