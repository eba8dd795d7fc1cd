"use strict";(self.rspackChunkcourse_lab=self.rspackChunkcourse_lab||[]).push([[266],{646(e,t,n){var o=n(601),a=n.n(o),r=n(314),s=(n.n(r))()(a());s.push([e.id,`/* The Submit confirmation: each notebook's open steps, readable at a glance. */
.course-lab-open-steps {
  max-width: 720px;
  font-size: var(--jp-content-font-size1);
  line-height: 1.5;
}

.course-lab-open-steps h3 {
  margin: 0.8em 0 0.2em;
  font-size: var(--jp-content-font-size2);
}

.course-lab-open-steps li {
  margin-bottom: 0.3em;
}

.course-lab-question {
  margin-top: 1em;
  font-weight: 600;
}

/* nbgrader's Validate dialog and the Submit confirmation: tall enough to show a notebook's
   open steps without scrolling a small box. */
.jp-Dialog-content:has(#validation-message),
.jp-Dialog-content:has(.course-lab-open-steps) {
  max-height: 90vh;
  max-width: 900px;
}

.jp-Dialog-content:has(#validation-message) .jp-Dialog-body,
.jp-Dialog-content:has(.course-lab-open-steps) .jp-Dialog-body {
  max-height: none;
}
`,""]),n.d(t,{},{A:s})},314(e){e.exports=function(e){var t=[];return t.toString=function(){return this.map(function(t){var n="",o=void 0!==t[5];return t[4]&&(n+="@supports (".concat(t[4],") {")),t[2]&&(n+="@media ".concat(t[2]," {")),o&&(n+="@layer".concat(t[5].length>0?" ".concat(t[5]):""," {")),n+=e(t),o&&(n+="}"),t[2]&&(n+="}"),t[4]&&(n+="}"),n}).join("")},t.i=function(e,n,o,a,r){"string"==typeof e&&(e=[[null,e,void 0]]);var s={};if(o)for(var i=0;i<this.length;i++){var c=this[i][0];null!=c&&(s[c]=!0)}for(var u=0;u<e.length;u++){var l=[].concat(e[u]);o&&s[l[0]]||(void 0!==r&&(void 0===l[5]||(l[1]="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {").concat(l[1],"}")),l[5]=r),n&&(l[2]&&(l[1]="@media ".concat(l[2]," {").concat(l[1],"}")),l[2]=n),a&&(l[4]?(l[1]="@supports (".concat(l[4],") {").concat(l[1],"}"),l[4]=a):l[4]="".concat(a)),t.push(l))}},t}},601(e){e.exports=function(e){return e[1]}},665(e,t,n){n.r(t);var o=n(72),a=n.n(o),r=n(825),s=n.n(r),i=n(659),c=n.n(i),u=n(56),l=n.n(u),p=n(540),d=n.n(p),f=n(113),h=n.n(f),m=n(646),v={};v.styleTagTransform=h(),v.setAttributes=l(),v.insert=c().bind(null,"head"),v.domAPI=s(),v.insertStyleElement=d(),a()(m.A,v);let g=m.A&&m.A.locals?m.A.locals:void 0;n.d(t,{},{default:g})},72(e){var t=[];function n(e){for(var n=-1,o=0;o<t.length;o++)if(t[o].identifier===e){n=o;break}return n}function o(e,o){for(var a={},r=[],s=0;s<e.length;s++){var i=e[s],c=o.base?i[0]+o.base:i[0],u=a[c]||0,l="".concat(c," ").concat(u);a[c]=u+1;var p=n(l),d={css:i[1],media:i[2],sourceMap:i[3],supports:i[4],layer:i[5]};if(-1!==p)t[p].references++,t[p].updater(d);else{var f=function(e,t){var n=t.domAPI(t);return n.update(e),function(t){t?(t.css!==e.css||t.media!==e.media||t.sourceMap!==e.sourceMap||t.supports!==e.supports||t.layer!==e.layer)&&n.update(e=t):n.remove()}}(d,o);o.byIndex=s,t.splice(s,0,{identifier:l,updater:f,references:1})}r.push(l)}return r}e.exports=function(e,a){var r=o(e=e||[],a=a||{});return function(e){e=e||[];for(var s=0;s<r.length;s++){var i=n(r[s]);t[i].references--}for(var c=o(e,a),u=0;u<r.length;u++){var l=n(r[u]);0===t[l].references&&(t[l].updater(),t.splice(l,1))}r=c}}},659(e){var t={};e.exports=function(e,n){var o=function(e){if(void 0===t[e]){var n=document.querySelector(e);if(window.HTMLIFrameElement&&n instanceof window.HTMLIFrameElement)try{n=n.contentDocument.head}catch(e){n=null}t[e]=n}return t[e]}(e);if(!o)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");o.appendChild(n)}},540(e){e.exports=function(e){var t=document.createElement("style");return e.setAttributes(t,e.attributes),e.insert(t,e.options),t}},56(e,t,n){e.exports=function(e){var t=n.nc;t&&e.setAttribute("nonce",t)}},825(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var t=e.insertStyleElement(e);return{update:function(n){var o,a,r;o="",n.supports&&(o+="@supports (".concat(n.supports,") {")),n.media&&(o+="@media ".concat(n.media," {")),(a=void 0!==n.layer)&&(o+="@layer".concat(n.layer.length>0?" ".concat(n.layer):""," {")),o+=n.css,a&&(o+="}"),n.media&&(o+="}"),n.supports&&(o+="}"),(r=n.sourceMap)&&"u">typeof btoa&&(o+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(r))))," */")),e.styleTagTransform(o,t,e.options)},remove:function(){var e;null===(e=t).parentNode||e.parentNode.removeChild(e)}}}},113(e){e.exports=function(e,t){if(t.styleSheet)t.styleSheet.cssText=e;else{for(;t.firstChild;)t.removeChild(t.firstChild);t.appendChild(document.createTextNode(e))}}}}]);